using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Events;

/// <summary>
/// The fan-out: the request path hands it events (<see cref="Publish"/> only enqueues; a full queue drops the event
/// and counts it), and one pump serialises each event once into a pooled frame and offers that same frame to the
/// queue of every subscriber whose channels and filter match — and, for what only this instance saw, to the other
/// instances through <see cref="IEventFanOut"/>. Their events come back the same way, already serialised.
/// </summary>
/// <remarks>
/// Subscribers are added and removed under a lock; the pump reads an immutable array of them with one volatile read
/// (rebuilt only after the set changed), and each subscriber's channels and filter with one more. Nothing the pump does
/// waits on a socket.
/// </remarks>
internal sealed partial class EventHub
{
    private readonly Channel<HubItem> _queue;
    private readonly IEventFanOut _fanOut;
    private readonly byte[] _instanceId;
    private readonly ILogger<EventHub> _logger;
    private readonly Lock _gate = new();
    private readonly HashSet<Subscriber> _subscribers = [];
    private readonly FrameWriter _frame = new();
    private readonly Utf8JsonWriter _writer;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SubscriberSnapshot _snapshot = new([], 0);
    private int _version;
    private int _count;
    private int _stopping;
    private long _lastDropWarning = long.MinValue;

    public EventHub(EventsSettings settings, IEventFanOut fanOut, EventStatistics statistics, TimeProvider time, ILogger<EventHub> logger)
    {
        Enabled = settings.Options.Enabled;
        Statistics = statistics;
        Time = time;
        _fanOut = fanOut;
        _logger = logger;
        _instanceId = Encoding.ASCII.GetBytes(fanOut.InstanceId);
        _queue = Channel.CreateBounded<HubItem>(new BoundedChannelOptions(settings.Options.PublishQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = new Utf8JsonWriter(_frame);
    }

    public bool Enabled { get; }

    /// <summary>Whether anybody may receive what is published: a subscriber here, or other instances.</summary>
    public bool IsActive => Enabled && (Volatile.Read(ref _count) > 0 || _fanOut.IsShared);

    public EventStatistics Statistics { get; }

    public TimeProvider Time { get; }

    /// <summary>Connected subscribers.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>True once the host began to stop: new connections are refused and every client is closed with 1001.</summary>
    public bool IsStopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>Completes once stopping began and the last connection has gone.</summary>
    public Task Drained => _drained.Task;

    /// <summary>Enqueues an event for fan-out; never waits. Dropped (and counted) when the queue is full or nobody listens.</summary>
    public void Publish(HubEvent hubEvent)
    {
        if (!IsActive)
        {
            return;
        }

        if (!_queue.Writer.TryWrite(new HubItem(hubEvent, null)))
        {
            Statistics.CountPublishDropped();
            WarnDropped();
        }
    }

    /// <summary>A message another instance published: delivered here unless it is this instance's own.</summary>
    public void Receive(ReadOnlySpan<byte> message)
    {
        if (!RelayEnvelope.TryRead(message, out var instance, out var channel, out var network, out var payee, out var jsonOffset)
            || instance.SequenceEqual(_instanceId))
        {
            return;
        }

        Statistics.CountReceived();
        if (Volatile.Read(ref _count) == 0)
        {
            return;
        }

        var json = message[jsonOffset..];
        var buffer = ArrayPool<byte>.Shared.Rent(EventFrame.MaxHeaderBytes + json.Length);
        json.CopyTo(buffer.AsSpan(EventFrame.MaxHeaderBytes));
        var frame = new EventFrame(
            buffer, EventFrame.MaxHeaderBytes, EventFrame.MaxHeaderBytes + json.Length, channel, network, payee, freeBeforeJson: EventFrame.MaxHeaderBytes);
        if (!_queue.Writer.TryWrite(new HubItem(null, frame)))
        {
            frame.Release();
            Statistics.CountPublishDropped();
            WarnDropped();
        }
    }

    public void Add(Subscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers.Add(subscriber);
            Volatile.Write(ref _count, _subscribers.Count);
            Volatile.Write(ref _version, _version + 1);
        }
    }

    public void Remove(Subscriber subscriber)
    {
        lock (_gate)
        {
            if (_subscribers.Remove(subscriber))
            {
                Volatile.Write(ref _count, _subscribers.Count);
                Volatile.Write(ref _version, _version + 1);
            }
        }

        if (Count == 0 && IsStopping)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// The subscribers now: an immutable array, read with one volatile read while nobody connects or leaves, and rebuilt
    /// (once, by whoever reads next) after they do — not on every connect, which would copy it 10,000 times as 10,000
    /// clients connect.
    /// </summary>
    public Subscriber[] Subscribers()
    {
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot.Version == Volatile.Read(ref _version))
        {
            return snapshot.Items;
        }

        lock (_gate)
        {
            if (_snapshot.Version != _version)
            {
                Volatile.Write(ref _snapshot, new SubscriberSnapshot([.. _subscribers], _version));
            }

            return _snapshot.Items;
        }
    }

    /// <summary>Refuses new connections and asks every connected client to close with 1001.</summary>
    public void BeginStopping()
    {
        Interlocked.Exchange(ref _stopping, 1);
        foreach (var subscriber in Subscribers())
        {
            subscriber.RequestClose(CloseRequest.GoingAway, "server shutting down");
        }

        if (Count == 0)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>The pump: one reader, so each event is serialised once and fanned out in the order it was published.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    try
                    {
                        if ((item.Frame ?? Serialize(item.Event!)) is { } frame)
                        {
                            Dispatch(frame);
                        }
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // A defect in one event must not stop the stream for every subscriber.
                        DispatchFailed(_logger, ex);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (reader.TryRead(out var item))
            {
                item.Frame?.Release();
            }
        }
    }

    /// <summary>Offers the frame to every matching subscriber, holding a reference per queue it entered, then lets go of the pump's own.</summary>
    private void Dispatch(EventFrame frame)
    {
        var subscribers = Subscribers();
        frame.AddReferences(subscribers.Length);
        var unused = 1;
        foreach (var subscriber in subscribers)
        {
            if (!subscriber.State.Matches(frame) || !subscriber.Offer(frame))
            {
                unused++;
            }
        }

        frame.Release(unused);
    }

    /// <summary>Serialises an event of this instance once; for one the other instances are sent, behind the relay header, and publishes it.</summary>
    private EventFrame? Serialize(HubEvent hubEvent)
    {
        var relay = hubEvent.Relayed && _fanOut.IsShared;
        EventFrame frame;
        try
        {
            _frame.Start(relay ? 0 : EventFrame.MaxHeaderBytes);
            var offset = relay ? RelayEnvelope.Write(_frame, _instanceId, hubEvent.Channel, hubEvent.Network, hubEvent.Payee) : _frame.Written;
            _writer.Reset(_frame);
            hubEvent.WriteTo(_writer);
            _writer.Flush();
            frame = _frame.Detach(offset, hubEvent.Channel, hubEvent.Network, hubEvent.Payee);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            _frame.Abandon();
            _writer.Reset();
            SerializationFailed(_logger, hubEvent.GetType().Name, ex);
            return null;
        }

        Statistics.CountPublished();
        if (relay)
        {
            frame.AddReferences(1);
            if (!_fanOut.TryPublish(frame.Relay, static state => ((EventFrame)state!).Release(), frame))
            {
                frame.Release();
                Statistics.CountRelayFailure();
            }
        }

        return frame;
    }

    /// <summary>At most one warning a minute: a full queue means the pump cannot keep up, and every drop would flood the log.</summary>
    private void WarnDropped()
    {
        var now = Time.GetTimestamp();
        var last = Interlocked.Read(ref _lastDropWarning);
        if ((last == long.MinValue || Time.GetElapsedTime(last, now) > TimeSpan.FromMinutes(1))
            && Interlocked.CompareExchange(ref _lastDropWarning, now, last) == last)
        {
            PublishQueueFull(_logger, Statistics.PublishDropped);
        }
    }

    /// <summary>An event of this instance, or a frame another instance serialised.</summary>
    private readonly record struct HubItem(HubEvent? Event, EventFrame? Frame);

    /// <summary>The subscribers as of a version of the set.</summary>
    private sealed record SubscriberSnapshot(Subscriber[] Items, int Version);

    [LoggerMessage(EventId = 6000, Level = LogLevel.Warning, Message = "[Events] the publish queue is full: events are dropped ({Dropped} since start); the payments themselves are unaffected")]
    private static partial void PublishQueueFull(ILogger logger, long dropped);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "[Events] an event could not be fanned out; it is dropped and the stream goes on")]
    private static partial void DispatchFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Error, Message = "[Events] a {EventType} could not be serialised; it is dropped")]
    private static partial void SerializationFailed(ILogger logger, string eventType, Exception exception);
}
