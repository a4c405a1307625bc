using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Bodies that are not valid HTTP: a clear 400 in the endpoint's shape and one Warning, never a 500 or a stack trace.</summary>
public sealed class RequestBodyReaderTests
{
    [Theory]
    [InlineData("/verify", "isValid")]
    [InlineData("/settle", "success")]
    public async Task Read_ChunkSizeOverflowingInt64_400InTheX402ShapeAndOneWarningWithoutStackTrace(string path, string shapeField)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var logs = new CapturedLogs();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)), logs: logs);
        var server = gateway.Client.BaseAddress!;
        var atStart = logs.Entries.Count;

        var answer = await RawHttp.SendAsync(
            server,
            $"POST {path} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
            "FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n");

        Assert.Equal(400, answer.Status);
        var body = Json(answer.Body);
        Assert.False(body.GetProperty(shapeField).GetBoolean());
        Assert.Equal(0, upstream.CountOf(path));
        await Eventually.TrueAsync(() => logs.Entries.Skip(atStart).Any(e => e.Level == LogLevel.Warning), "the warning is logged");
        var warning = Assert.Single(logs.Entries.Skip(atStart), e => e.Level >= LogLevel.Warning);
        Assert.Equal(3001, warning.EventId);
        Assert.Null(warning.Exception);
        Assert.DoesNotContain("   at ", warning.Message);
    }

    [Fact]
    public async Task Read_ChunkSizeOverflowOnTheStatusAction_400InTheApiErrorFormat()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var server = gateway.Client.BaseAddress!;

        var answer = await RawHttp.SendAsync(
            server,
            $"POST /api/facilitator-status HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
            "FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n");

        Assert.Equal(400, answer.Status);
        Assert.Equal("VALIDATION_ERROR", Json(answer.Body).GetProperty("error").GetProperty("code").GetString());
    }
}
