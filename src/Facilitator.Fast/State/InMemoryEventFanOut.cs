namespace Facilitator.Fast.State;

/// <summary>One instance alone: there is nobody to publish to, and nothing arrives.</summary>
public sealed class InMemoryEventFanOut : IEventFanOut
{
    public bool IsShared => false;

    public string InstanceId { get; } = Guid.NewGuid().ToString("N")[..12];

    public Task StartAsync(FanOutHandler handler) => Task.CompletedTask;

    public bool TryPublish(ReadOnlyMemory<byte> message, Action<object?> completed, object? state) => false;
}
