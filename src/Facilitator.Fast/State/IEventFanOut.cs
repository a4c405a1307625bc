namespace Facilitator.Fast.State;

/// <summary>Receives a message another instance published; the bytes are valid only during the call (copy what is kept).</summary>
public delegate void FanOutHandler(ReadOnlySpan<byte> message);

/// <summary>
/// How events reach the subscribers of every instance: through one Redis pub/sub channel when state is shared, nowhere
/// otherwise (each instance's subscribers then see its own events only).
/// </summary>
public interface IEventFanOut
{
    /// <summary>Whether other instances exist to publish to.</summary>
    bool IsShared { get; }

    /// <summary>Identifies this instance in what it publishes, so it can skip its own messages.</summary>
    string InstanceId { get; }

    /// <summary>Starts delivering other instances' messages to <paramref name="handler"/>, one at a time.</summary>
    Task StartAsync(FanOutHandler handler);

    /// <summary>
    /// Publishes without waiting. <paramref name="completed"/> is called with <paramref name="state"/> once the bytes are
    /// no longer needed (sent or failed); false when nothing was attempted (then it is not called).
    /// </summary>
    bool TryPublish(ReadOnlyMemory<byte> message, Action<object?> completed, object? state);
}
