namespace Facilitator.Fast.Load;

/// <summary>Sends each request to the next of several instances on loopback, as a load balancer would.</summary>
internal sealed class RoundRobinHandler(IReadOnlyList<int> ports, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private int _next = -1;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (ports.Count > 1 && request.RequestUri is { } uri)
        {
            var port = ports[(int)((uint)Interlocked.Increment(ref _next) % (uint)ports.Count)];
            request.RequestUri = new UriBuilder(uri) { Port = port }.Uri;
        }

        return base.SendAsync(request, cancellationToken);
    }
}
