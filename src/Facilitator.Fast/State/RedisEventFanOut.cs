using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// Events shared through one Redis pub/sub channel (<c>{prefix}events</c>, sharded with <c>Redis:ShardedPubSub</c>). Publishing never waits: the publish is
/// queued on the connection and its completion releases the bytes; at most <see cref="MaxInFlight"/> are under way, and
/// past that — or while Redis fails fast, or fails — an event is not relayed and the fallback is counted. Local delivery
/// never depends on it.
/// </summary>
public sealed partial class RedisEventFanOut : IEventFanOut
{
    /// <summary>Publishes under way at most: a Redis that hangs must not collect events without bound.</summary>
    public const int MaxInFlight = 4096;

    private const int NotSubscribed = 0;
    private const int Subscribing = 1;
    private const int Subscribed = 2;

    private readonly RedisConnection _redis;
    private readonly RedisChannel _channel;
    private readonly ILogger<RedisEventFanOut> _logger;
    private Action<RedisChannel, RedisValue>? _onMessage;
    private int _subscribed;
    private int _inFlight;
    private long _published;
    private long _failures;

    public RedisEventFanOut(RedisConnection redis, ILogger<RedisEventFanOut> logger)
    {
        _redis = redis;
        _logger = logger;
        _channel = redis.EventsChannel("events");
        redis.Restored += () => _ = SubscribeAsync();
    }

    public bool IsShared => true;

    public string InstanceId => _redis.InstanceId;

    /// <summary>Events published to Redis.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Events that were not relayed (Redis unreachable, failing fast, or too many publishes under way).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    public Task StartAsync(FanOutHandler handler)
    {
        _onMessage = (_, message) => handler(((ReadOnlyMemory<byte>)message).Span);
        return SubscribeAsync();
    }

    public bool TryPublish(ReadOnlyMemory<byte> message, Action<object?> completed, object? state)
    {
        if (_redis.IsFailingFast)
        {
            CountFailure();
            return false;
        }

        if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            CountFailure();
            return false;
        }

        Task<long> publish;
        try
        {
            publish = _redis.EventsSubscriber.PublishAsync(_channel, message);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            Interlocked.Decrement(ref _inFlight);
            CountFailure();
            return false;
        }

        publish.ContinueWith(
            static (task, boxed) =>
            {
                var (self, completed, state) = ((RedisEventFanOut, Action<object?>, object?))boxed!;
                Interlocked.Decrement(ref self._inFlight);
                if (task.IsFaulted || task.IsCanceled)
                {
                    _ = task.Exception;
                    self.CountFailure();
                }
                else
                {
                    Interlocked.Increment(ref self._published);
                }

                completed(state);
            },
            (this, completed, state),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return true;
    }

    /// <summary>
    /// Subscribes once (a second subscription would deliver every message twice); a start while Redis was away
    /// subscribes when the connection is restored. The client keeps a subscription across reconnects by itself.
    /// </summary>
    private async Task SubscribeAsync()
    {
        if (_onMessage is not { } onMessage || Interlocked.CompareExchange(ref _subscribed, Subscribing, NotSubscribed) != NotSubscribed)
        {
            return;
        }

        try
        {
            // A subscription that failed may still be registered with the client: removed first, so it is never there twice.
            await _redis.EventsSubscriber.UnsubscribeAsync(_channel, onMessage).ConfigureAwait(false);
            await _redis.EventsSubscriber.SubscribeAsync(_channel, onMessage).ConfigureAwait(false);
            Volatile.Write(ref _subscribed, Subscribed);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            Volatile.Write(ref _subscribed, NotSubscribed);
            _redis.CountFallback();
            SubscribeFailed(_logger, ex.GetType().Name);
        }
    }

    private void CountFailure()
    {
        Interlocked.Increment(ref _failures);
        _redis.CountFallback();
    }

    [LoggerMessage(EventId = 6050, Level = LogLevel.Warning, Message = "[Events] subscribing to other instances' events through Redis failed ({ExceptionType}); retried when the connection is restored, local events are delivered meanwhile")]
    private static partial void SubscribeFailed(ILogger logger, string exceptionType);
}
