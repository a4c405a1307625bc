using System.Text;
using Facilitator.Fast.Routing;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>What an upstream says when it refuses: its own words, bounded and printable, never a token it echoed.</summary>
public sealed class UpstreamErrorTextTests
{
    [Theory]
    [InlineData("""{"errorType":"unauthorized","errorMessage":"The request is not properly authenticated.","correlationId":"c1"}""", "unauthorized: The request is not properly authenticated.")]
    [InlineData("""{"error":"forbidden: bad api key"}""", "forbidden: bad api key")]
    [InlineData("""{"message":"Unauthorized","statusCode":401}""", "Unauthorized")]
    [InlineData("""{"errorType":"unauthorized"}""", "unauthorized")]
    [InlineData("<html><body>401 Authorization Required</body></html>", "<html><body>401 Authorization Required</body></html>")]
    [InlineData("", "")]
    public void Message_ErrorBodies_TheUpstreamsOwnWords(string body, string expected) =>
        Assert.Equal(expected, UpstreamErrorText.Message(Encoding.UTF8.GetBytes(body)));

    [Theory]
    [InlineData("""{"errorMessage":"bad token eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJrIn0.c2ln rejected"}""", "bad token [redacted] rejected")]
    [InlineData("""{"errorMessage":"Authorization: Bearer abc.def.ghi, expired"}""", "Authorization: Bearer [redacted], expired")]
    [InlineData("""{"errorMessage":"Bearer x and Bearer y"}""", "Bearer [redacted] and Bearer [redacted]")]
    public void Message_TokenEchoed_Redacted(string body, string expected) =>
        Assert.Equal(expected, UpstreamErrorText.Message(Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void Snippet_LongBinaryBody_PrintableAndBounded()
    {
        var body = Enumerable.Range(0, 1000).Select(static i => (byte)i).ToArray();

        var snippet = UpstreamErrorText.Snippet(body);

        Assert.True(snippet.Length <= 121);
        Assert.EndsWith("…", snippet, StringComparison.Ordinal);
        Assert.All(snippet[..^1], static c => Assert.InRange(c, ' ', '~'));
    }
}
