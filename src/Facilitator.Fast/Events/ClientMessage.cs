using System.Text;
using System.Text.Json;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Events;

public enum ClientMessageType : byte
{
    Subscribe = 0,
    Unsubscribe,
    Ping,
}

/// <summary>
/// A message a client sent, read strictly: <c>{"type":"subscribe"|"unsubscribe","channels":[...],"filter":{"network","payee"}}</c>
/// or <c>{"type":"ping"}</c>. Anything else is refused with a code and a sentence for the <c>error</c> frame; reading
/// never throws whatever the bytes.
/// </summary>
/// <param name="Channels">The channels named (<see cref="EventChannel.None"/> when <c>channels</c> was absent).</param>
/// <param name="HasFilter"><c>filter</c> was given: it replaces the client's filter (<c>{}</c> or <c>null</c> clears it).</param>
/// <param name="Network">The filter's network as a CAIP-2 id (a v1 name is converted).</param>
/// <param name="Payee">The filter's payee, an EVM address in lower case.</param>
internal readonly record struct ClientMessage(ClientMessageType Type, EventChannel Channels, bool HasFilter, string? Network, string? Payee)
{
    private const int MaxChannelNames = 8;
    private const int MaxDepth = 8;

    /// <summary>A network or payee is short; escapes (six bytes a character) are allowed within this.</summary>
    private const int MaxFilterValueBytes = 384;

    public const string InvalidMessage = "invalid_message";
    public const string UnknownType = "unknown_type";
    public const string InvalidChannel = "invalid_channel";
    public const string InvalidFilter = "invalid_filter";

    public static bool TryRead(ReadOnlySpan<byte> json, out ClientMessage message, out string code, out string problem)
    {
        message = default;
        code = InvalidMessage;
        problem = "The message is not a JSON object.";
        try
        {
            return TryReadObject(json, out message, out code, out problem);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // Whatever the bytes, a client's message is answered, never thrown.
            code = InvalidMessage;
            problem = "The message is not valid JSON.";
            return false;
        }
    }

    private static bool TryReadObject(ReadOnlySpan<byte> json, out ClientMessage message, out string code, out string problem)
    {
        message = default;
        code = InvalidMessage;
        problem = "The message is not a JSON object.";
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        ClientMessageType? kind = null;
        var channels = EventChannel.None;
        bool hasChannels = false, hasFilter = false, seenType = false;
        string? network = null, payee = null;
        string? channelProblem = null, filterProblem = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueTextEquals("type"u8) ? 1 : reader.ValueTextEquals("channels"u8) ? 2 : reader.ValueTextEquals("filter"u8) ? 3 : 0;
            if ((name == 1 && seenType) || (name == 2 && hasChannels) || (name == 3 && hasFilter))
            {
                problem = "The message repeats a member.";
                return false;
            }

            reader.Read();
            switch (name)
            {
                case 1:
                    seenType = true;
                    kind = reader.TokenType != JsonTokenType.String ? null
                        : reader.ValueTextEquals("subscribe"u8) ? ClientMessageType.Subscribe
                        : reader.ValueTextEquals("unsubscribe"u8) ? ClientMessageType.Unsubscribe
                        : reader.ValueTextEquals("ping"u8) ? ClientMessageType.Ping
                        : null;
                    reader.Skip();
                    break;
                case 2:
                    hasChannels = true;
                    channelProblem = ReadChannels(ref reader, out channels);
                    break;
                case 3:
                    hasFilter = true;
                    filterProblem = ReadFilter(ref reader, out network, out payee);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            problem = "The message is not one JSON object.";
            return false;
        }

        if (kind is not { } known)
        {
            code = UnknownType;
            problem = seenType ? "The type is not one of subscribe, unsubscribe, ping." : "The message has no type.";
            return false;
        }

        if (known != ClientMessageType.Ping)
        {
            if (channelProblem is not null || (!hasChannels && (known == ClientMessageType.Unsubscribe || !hasFilter)))
            {
                code = InvalidChannel;
                problem = channelProblem ?? "channels is required: an array of payments, stats, errors.";
                return false;
            }

            if (filterProblem is not null)
            {
                code = InvalidFilter;
                problem = filterProblem;
                return false;
            }

            if (known == ClientMessageType.Unsubscribe && hasFilter)
            {
                code = InvalidFilter;
                problem = "unsubscribe takes no filter; subscribe with a new filter (or {}) to change it.";
                return false;
            }
        }

        message = new ClientMessage(known, channels, hasFilter, network, payee);
        code = "";
        problem = "";
        return true;
    }

    private static string? ReadChannels(ref Utf8JsonReader reader, out EventChannel channels)
    {
        channels = EventChannel.None;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return "channels must be an array of payments, stats, errors.";
        }

        var count = 0;
        string? problem = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (++count > MaxChannelNames || reader.TokenType != JsonTokenType.String || !EventChannels.TryRead(ref reader, out var channel))
            {
                problem ??= "Each channel must be one of payments, stats, errors.";
                reader.Skip();
                continue;
            }

            channels |= channel;
        }

        return problem;
    }

    private static string? ReadFilter(ref Utf8JsonReader reader, out string? network, out string? payee)
    {
        network = null;
        payee = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "filter must be an object {network?, payee?}.";
        }

        string? problem = null;
        bool seenNetwork = false, seenPayee = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isNetwork = reader.ValueTextEquals("network"u8);
            var isPayee = !isNetwork && reader.ValueTextEquals("payee"u8);
            reader.Read();
            if ((!isNetwork && !isPayee) || (isNetwork && seenNetwork) || (isPayee && seenPayee))
            {
                problem ??= "filter takes network and payee, once each.";
                reader.Skip();
                continue;
            }

            seenNetwork |= isNetwork;
            seenPayee |= isPayee;
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            if (reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length > MaxFilterValueBytes)
            {
                reader.Skip();
                problem ??= isNetwork ? "filter.network must be a CAIP-2 id such as eip155:8453." : "filter.payee must be an EVM address (0x and 40 hex digits).";
                continue;
            }

            ReadOnlySpan<byte> value = reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(reader.GetString() ?? "") : reader.ValueSpan;
            if (isNetwork)
            {
                network = ReadNetwork(value);
                problem ??= network is null ? "filter.network must be a CAIP-2 id such as eip155:8453." : null;
            }
            else
            {
                payee = ReadPayee(value);
                problem ??= payee is null ? "filter.payee must be an EVM address (0x and 40 hex digits)." : null;
            }
        }

        return problem;
    }

    /// <summary>A CAIP-2 id (<c>namespace:reference</c>) as given, or the id of a v1 network name; null for anything else.</summary>
    private static string? ReadNetwork(ReadOnlySpan<byte> value)
    {
        if (EvmNetworks.TryGetV1ChainId(value, out _))
        {
            return KnownAssets.Caip2Of(value);
        }

        var colon = value.IndexOf((byte)':');
        if (colon is < 3 or > 8 || value.Length - colon - 1 is < 1 or > 32)
        {
            return null;
        }

        foreach (var c in value[..colon])
        {
            if (!(char.IsAsciiLetterLower((char)c) || char.IsAsciiDigit((char)c) || c == '-'))
            {
                return null;
            }
        }

        foreach (var c in value[(colon + 1)..])
        {
            if (!(char.IsAsciiLetterOrDigit((char)c) || c is (byte)'-' or (byte)'_'))
            {
                return null;
            }
        }

        return Encoding.ASCII.GetString(value);
    }

    /// <summary>An EVM address in lower case (events are matched case-insensitively); null for anything else.</summary>
    private static string? ReadPayee(ReadOnlySpan<byte> value) =>
        HexBytes.DecodedLength(value) == 20 ? Encoding.ASCII.GetString(value).ToLowerInvariant() : null;
}
