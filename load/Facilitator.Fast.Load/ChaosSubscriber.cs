using System.Collections.Concurrent;
using System.Text;

namespace Facilitator.Fast.Load;

/// <summary>
/// One WebSocket subscriber of the chaos run (an <see cref="EventSubscriber"/> on one instance) and every payment
/// event it read, by type and payment id; it knows when it was subscribed and whether it stayed connected.
/// </summary>
internal sealed class ChaosSubscriber : IPaymentEventSink, IDisposable
{
    private readonly EventSubscriber _socket = new();
    private readonly ConcurrentDictionary<(string Type, Guid PaymentId), int> _received = new();
    private Task _receiving = Task.CompletedTask;

    private ChaosSubscriber(int instance, int generation)
    {
        Instance = instance;
        Generation = generation;
    }

    public int Instance { get; }

    /// <summary>The instance's generation it was connected to (a kill ends it).</summary>
    public int Generation { get; }

    /// <summary>Seconds since the start at which the service confirmed the subscription.</summary>
    public double SubscribedAt { get; private set; }

    /// <summary>Connected to the end and never told it lagged: it must have missed nothing.</summary>
    public bool StayedConnected => _socket.Failure is null && !_socket.Lagged;

    public string? Failure => _socket.Failure;

    public bool Lagged => _socket.Lagged;

    public int Received => _received.Count;

    public static async Task<ChaosSubscriber> ConnectAsync(ChaosFleet.Instance instance, Func<double> clock, CancellationToken stop)
    {
        var subscriber = new ChaosSubscriber(instance.Index, instance.Generation);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await Task.Run(() => subscriber._socket.Connect(instance.WebSocketUri, TimeSpan.FromSeconds(10)), timeout.Token);
        subscriber._receiving = subscriber._socket.ReceiveAsync(subscriber, stop);
        await subscriber._socket.Subscribed.WaitAsync(timeout.Token);
        subscriber.SubscribedAt = clock();
        return subscriber;
    }

    public bool Got(string type, Guid paymentId) => _received.ContainsKey((type, paymentId));

    public bool Delivered(ReadOnlySpan<byte> type, Guid paymentId)
    {
        _received.AddOrUpdate((Encoding.ASCII.GetString(type), paymentId), 1, static (_, n) => n + 1);
        return true;
    }

    /// <summary>Waits for the receive loop to end (after the run's stop token fired).</summary>
    public Task StoppedAsync() => _receiving;

    public void Dispose() => _socket.Dispose();
}
