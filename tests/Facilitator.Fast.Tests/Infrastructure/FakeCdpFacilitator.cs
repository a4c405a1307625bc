using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// A Coinbase-CDP-shaped upstream on loopback: served below <c>/platform/v2/x402</c>, it answers verify, settle and
/// supported only to a request whose JWT <see cref="CdpJwtValidator"/> accepts for that very request, and otherwise
/// what CDP answers (401 <c>unauthorized</c>). Discovery is public, as at CDP.
/// </summary>
internal sealed class FakeCdpFacilitator : IAsyncDisposable
{
    public const string BasePath = "/platform/v2/x402";

    /// <summary>CDP's refusal, word for word (<c>cdp-auth.md</c>).</summary>
    public const string Unauthorized =
        """{"errorType":"unauthorized","errorMessage":"The request is not properly authenticated.","correlationId":"9a1c3e5f7b9d1f3a","errorLink":"https://docs.cdp.coinbase.com/api-reference/v2/errors#unauthorized"}""";

    private readonly FakeFacilitator _server;
    private readonly HashSet<string> _nonces = [];
    private readonly ConcurrentQueue<string> _refusals = new();
    private int _accepted;

    private FakeCdpFacilitator(FakeFacilitator server, CdpTestKey key)
    {
        _server = server;
        Key = key;
        Serve("/verify", 200, $$"""{"isValid":true,"payer":"{{FakeFacilitator.Payer}}"}""");
        Serve("/settle", 200, $$"""{"success":true,"transaction":"0xcdp123","network":"base-sepolia","payer":"{{FakeFacilitator.Payer}}"}""");
        Serve("/supported", 200, """{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"},{"x402Version":2,"scheme":"exact","network":"eip155:84532"}],"extensions":[],"signers":{}}""");
        server.Answer(BasePath + "/discovery/resources", 200, """{"x402Version":1,"items":[],"pagination":{"limit":20,"offset":0,"total":0}}""");
    }

    /// <summary>The key whose tokens are accepted; set another to make the upstream refuse the gateway's.</summary>
    public CdpTestKey Key { get; set; }

    /// <summary>
    /// The host (with port) CDP believes it is reached at; null for the one the request names. Set to another to see
    /// tokens refused for naming the wrong URL.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>Refuse with the token quoted in the message, as a careless upstream might.</summary>
    public bool EchoTokenInRefusals { get; set; }

    /// <summary>The base URL to configure: the server's origin and CDP's base path.</summary>
    public string Url => _server.Url + BasePath;

    public IReadOnlyCollection<ReceivedRequest> Received => _server.Received;

    /// <summary>Requests answered because their token was good.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Why each refused request was refused.</summary>
    public IReadOnlyCollection<string> Refusals => _refusals;

    public static async Task<FakeCdpFacilitator> StartAsync(CdpTestKey key) => new(await FakeFacilitator.StartAsync(), key);

    public int CountOf(string operationPath) => _server.CountOf(BasePath + operationPath);

    private void Serve(string operationPath, int status, string json) => _server.On(BasePath + operationPath, async context =>
    {
        var expected = $"{context.Request.Method} {Authority ?? context.Request.Host.Value}{context.Request.Path.Value}";
        var problem = await CdpJwtValidator.ValidateAsync(context.Request.Headers.Authorization.ToString(), expected, Key, _nonces);
        if (problem is not null)
        {
            _refusals.Enqueue(problem);
            var body = EchoTokenInRefusals
                ? Unauthorized.Replace("authenticated.", $"authenticated. Got {context.Request.Headers.Authorization} and {context.Request.Headers.Authorization.ToString()[7..]}", StringComparison.Ordinal)
                : Unauthorized;
            await FakeFacilitator.WriteAsync(context, StatusCodes.Status401Unauthorized, body);
            return;
        }

        Interlocked.Increment(ref _accepted);
        await FakeFacilitator.WriteAsync(context, status, json);
    });

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
