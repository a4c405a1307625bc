using System.Text.Json;

namespace Facilitator.Fast.Events;

/// <summary>
/// The frames sent to one client about its own connection: the welcome, (un)subscription confirmations, errors about
/// what it sent, the <c>lagged</c> notice and <c>pong</c>. Each is <c>{"type","data","timestamp"}</c> like every event.
/// </summary>
internal static class ControlFrames
{
    public static EventFrame Connected(string clientId, SubscriptionState state, long now)
    {
        var (buffer, writer) = Begin("connected"u8);
        writer.WriteString("clientId"u8, clientId);
        EventChannels.WriteArray(writer, "channels"u8, state.Channels);
        return End(buffer, writer, now);
    }

    /// <summary><c>subscribed</c> or <c>unsubscribed</c>, with the client's channels and filter as they now are.</summary>
    public static EventFrame Subscription(bool subscribed, SubscriptionState state, long now)
    {
        var (buffer, writer) = Begin(subscribed ? "subscribed"u8 : "unsubscribed"u8);
        EventChannels.WriteArray(writer, "channels"u8, state.Channels);
        if (state.Network is null && state.Payee is null)
        {
            writer.WriteNull("filter"u8);
        }
        else
        {
            writer.WriteStartObject("filter"u8);
            if (state.Network is not null)
            {
                writer.WriteString("network"u8, state.Network);
            }

            if (state.Payee is not null)
            {
                writer.WriteString("payee"u8, state.Payee);
            }

            writer.WriteEndObject();
        }

        return End(buffer, writer, now);
    }

    public static EventFrame Error(string code, string message, long now)
    {
        var (buffer, writer) = Begin("error"u8);
        writer.WriteString("code"u8, code);
        writer.WriteString("message"u8, message);
        return End(buffer, writer, now);
    }

    /// <summary>Sent to a client that fell behind, where the gap is (before the next event it gets): how many events it missed.</summary>
    public static EventFrame Lagged(long dropped, long now)
    {
        var (buffer, writer) = Begin("lagged"u8);
        writer.WriteNumber("dropped"u8, dropped);
        return End(buffer, writer, now);
    }

    public static EventFrame Pong(long now)
    {
        var (buffer, writer) = Begin("pong"u8);
        return End(buffer, writer, now);
    }

    private static (FrameWriter Buffer, Utf8JsonWriter Writer) Begin(ReadOnlySpan<byte> type)
    {
        var buffer = new FrameWriter();
        buffer.Start();
        var writer = new Utf8JsonWriter(buffer);
        writer.WriteStartObject();
        writer.WriteString("type"u8, type);
        writer.WriteStartObject("data"u8);
        return (buffer, writer);
    }

    private static EventFrame End(FrameWriter buffer, Utf8JsonWriter writer, long now)
    {
        writer.WriteEndObject();
        writer.WriteNumber("timestamp"u8, now);
        writer.WriteEndObject();
        writer.Flush();
        writer.Dispose();
        return buffer.Detach(EventFrame.MaxHeaderBytes, EventChannel.None);
    }
}
