using Facilitator.Fast.Edge;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Listening addresses checked when the service is built: a malformed one stops the start with one line naming the setting.</summary>
public sealed class ListenAddressesTests
{
    [Theory]
    [InlineData("garbage")]
    [InlineData("http://127.0.0.1:99999")]
    [InlineData("http://127.0.0.1:abc")]
    [InlineData("ftp://127.0.0.1:4020")]
    [InlineData("http://127.0.0.1:4020;nonsense")]
    public void Validate_Malformed_RefusedNamingTheSetting(string urls)
    {
        var ex = Assert.Throws<InvalidSettingException>(() => ListenAddresses.Validate(urls));

        Assert.Contains("ASPNETCORE_URLS", ex.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://localhost:4020;https://+:4443")]
    [InlineData("http://[::1]:4020")]
    [InlineData("http://*:80")]
    public void Validate_ListeningAddresses_Accepted(string? urls) => ListenAddresses.Validate(urls);
}
