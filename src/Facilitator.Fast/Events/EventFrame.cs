using System.Buffers;
using System.Diagnostics;

namespace Facilitator.Fast.Events;

/// <summary>
/// One serialised message, shared by every recipient: the UTF-8 JSON of the event in a buffer rented from
/// <see cref="ArrayPool{T}.Shared"/>, counted by reference — one reference per queue holding it (and one for the Redis
/// publish in flight) — and returned to the pool when the last is released. With it go the routing facts the hub
/// filters on, so no recipient parses the JSON.
/// </summary>
/// <remarks>
/// The buffer may start with the relay header (<see cref="RelayEnvelope"/>) for other instances; <see cref="Json"/> is
/// what a client is sent. Each holder releases exactly once; a buffer is never used after its last release.
/// </remarks>
internal sealed class EventFrame
{
    private byte[]? _buffer;
    private readonly int _jsonOffset;
    private readonly int _length;
    private int _references = 1;

    /// <param name="buffer">Rented from <see cref="ArrayPool{T}.Shared"/>; the frame owns it from now on.</param>
    public EventFrame(byte[] buffer, int jsonOffset, int length, EventChannel channel, string? network = null, string? payee = null)
    {
        _buffer = buffer;
        _jsonOffset = jsonOffset;
        _length = length;
        Channel = channel;
        Network = network;
        Payee = payee;
    }

    /// <summary>The channel it goes to; <see cref="EventChannel.None"/> for a frame to one client (welcome, confirmations, errors).</summary>
    public EventChannel Channel { get; }

    /// <summary>The CAIP-2 network of a payment event, for the <c>network</c> filter.</summary>
    public string? Network { get; }

    /// <summary>The payee of a payment event in lower case, for the <c>payee</c> filter.</summary>
    public string? Payee { get; }

    /// <summary>What a client is sent: the event's JSON.</summary>
    public ReadOnlyMemory<byte> Json => new(_buffer ?? throw Released(), _jsonOffset, _length - _jsonOffset);

    /// <summary>The relay header and the JSON, as published to the other instances.</summary>
    public ReadOnlyMemory<byte> Relay => new(_buffer ?? throw Released(), 0, _length);

    public int JsonLength => _length - _jsonOffset;

    /// <summary>Takes <paramref name="count"/> more references, one per holder about to keep it.</summary>
    public void AddReferences(int count)
    {
        var after = Interlocked.Add(ref _references, count);
        Debug.Assert(after > count, "a frame was referenced after its last release");
    }

    /// <summary>Gives back <paramref name="count"/> references; the last one returns the buffer to the pool.</summary>
    public void Release(int count = 1)
    {
        var after = Interlocked.Add(ref _references, -count);
        Debug.Assert(after >= 0, "a frame was released more often than referenced");
        if (after == 0 && Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ObjectDisposedException Released() => new(nameof(EventFrame), "The frame was used after its last release.");
}
