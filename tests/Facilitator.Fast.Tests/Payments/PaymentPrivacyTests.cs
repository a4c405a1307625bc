using System.Net;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>Payment records are private once credentials are configured; <c>Auth:PublicPaymentStatus</c> opens the status routes only.</summary>
public sealed class PaymentPrivacyTests
{
    private const string Key = "merchant-key-0123456789abcdef";

    private static async Task<GatewayHost> StartAsync(FakeFacilitator upstream, bool publicStatus)
    {
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:ApiKeys:0:Name"] = "merchant";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        settings["Auth:PublicPaymentStatus"] = publicStatus ? "true" : "false";
        return await GatewayHost.StartAsync(settings);
    }

    private static async Task<HttpResponseMessage> SendAsync(GatewayHost gateway, HttpMethod method, string path, string? body, bool withKey)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (withKey)
        {
            request.Headers.Add("X-API-Key", Key);
        }

        return await gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task Status_KeysConfigured_NeedsCredentials()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await StartAsync(upstream, publicStatus: false);
        using var verified = await SendAsync(gateway, HttpMethod.Post, "/v1/verify", Payment(601, 1), withKey: true);
        var id = (await JsonOf(verified)).GetProperty("paymentId").GetString();

        using var anonymous = await SendAsync(gateway, HttpMethod.Get, $"/v1/status/{id}", null, withKey: false);
        using var batch = await SendAsync(gateway, HttpMethod.Post, "/v1/status/batch", $$"""{"paymentIds":["{{id}}"]}""", withKey: false);
        using var verifyAnonymous = await SendAsync(gateway, HttpMethod.Post, "/v1/verify", Payment(601, 2), withKey: false);
        using var withKey = await SendAsync(gateway, HttpMethod.Get, $"/v1/status/{id}", null, withKey: true);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, batch.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, verifyAnonymous.StatusCode);
        Assert.DoesNotContain(PaymentSigner.CreatePayer(601).Address, await anonymous.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
    }

    [Fact]
    public async Task Status_PublicPaymentStatus_OpenForStatusOnly()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await StartAsync(upstream, publicStatus: true);
        using var verified = await SendAsync(gateway, HttpMethod.Post, "/v1/verify", Payment(602, 1), withKey: true);
        var id = (await JsonOf(verified)).GetProperty("paymentId").GetString();

        using var status = await SendAsync(gateway, HttpMethod.Get, $"/v1/status/{id}", null, withKey: false);
        using var settle = await SendAsync(gateway, HttpMethod.Post, "/v1/settle", $$"""{"paymentId":"{{id}}"}""", withKey: false);

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, settle.StatusCode);
        Assert.Equal(0, upstream.CountOf("/settle"));
    }
}
