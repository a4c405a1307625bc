using System.Net;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Error answers echo the caller's input only in bounded pieces: an error is never larger than what caused it.</summary>
public sealed class ApiErrorWriterTests
{
    [Fact]
    public async Task Status_ThousandsOfBadIncludeParts_AnswerStaysSmall()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var include = string.Join(',', Enumerable.Range(0, 3900).Select(i => (char)('a' + (i % 26)) + ""));

        using var response = await gateway.Client.GetAsync("/api/facilitator-status?include=" + include + "&logLimit=0");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(body.Length < 2048, $"{body.Length} characters answered to {include.Length} sent");
        var details = Json(body).GetProperty("error").GetProperty("details").EnumerateArray().ToList();
        Assert.Equal(6, details.Count(d => d.GetProperty("field").GetString() == "include"));
        Assert.Contains(details, d => d.GetProperty("message").GetString()!.StartsWith("3895 more", StringComparison.Ordinal));
        Assert.Contains(details, d => d.GetProperty("field").GetString() == "logLimit");
    }

    [Fact]
    public async Task Status_OneLongBadIncludePart_EchoCutAt64Characters()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.Client.GetAsync("/api/facilitator-status?include=" + new string('x', 7000));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = Json(body).GetProperty("error").GetProperty("details")[0].GetProperty("message").GetString();
        Assert.Equal("'" + new string('x', 64) + "…' is not one of health, stats, logs, config.", message);
    }

    [Theory]
    [InlineData("The service's own API answers only callers on this machine and the caller's address is not one of them, whatever it says.")]
    [InlineData("'short' is not one of health, stats, logs, config.")]
    public void Bound_ApostrophesAndShortEchoes_Unchanged(string text) => Assert.Same(text, ApiErrorWriter.Bound(text));

    [Fact]
    public void Bound_VeryLongText_CutAt512Characters()
    {
        var bounded = ApiErrorWriter.Bound(new string('m', 5000));

        Assert.Equal(513, bounded.Length);
        Assert.EndsWith("…", bounded);
    }
}
