using Facilitator.Fast.State;

namespace Facilitator.Fast.Routing;

/// <summary>Takes the capabilities other instances learn (see <see cref="ICapabilityStore"/>) into this instance's routing, from start.</summary>
internal sealed class CapabilitySharing(ICapabilityStore store, SupportedCatalog catalog) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.StartAsync(catalog.Learned);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
