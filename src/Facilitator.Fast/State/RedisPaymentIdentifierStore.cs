using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// The payment-identifier store shared by every instance: one Redis string per binding, the bound request's digest
/// (64 hex digits of the authorization's fingerprint) followed by its answer once recorded, set only if absent and with a relative expiry, so whichever
/// instance a request reaches, an id names one request.
/// </summary>
public sealed class RedisPaymentIdentifierStore(RedisConnection redis) : IPaymentIdentifierStore
{
    private const string BindScript = """
        local value = redis.call('GET', KEYS[1])
        if value then return value end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return ARGV[1]
        """;

    private const string RecordScript = """
        local value = redis.call('GET', KEYS[1])
        if value ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1] .. ARGV[2], 'KEEPTTL')
        return 1
        """;

    /// <summary>Answers larger than this are not kept (a repeat asks upstream again).</summary>
    public const int MaxAnswerBytes = 16 * 1024;

    public async ValueTask<IdentifierBinding?> BindAsync(Sha256Hash key, Sha256Hash fingerprint, TimeSpan retention)
    {
        try
        {
            var value = (byte[]?)await redis.Database.ScriptEvaluateAsync(
                BindScript, [KeyOf(key)], [fingerprint.ToString(), Math.Max((long)retention.TotalMilliseconds, 1)]).ConfigureAwait(false);
            return Parse(value);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            redis.CountFallback();
            return null;
        }
    }

    public async ValueTask RecordAsync(Sha256Hash key, Sha256Hash fingerprint, RecordedAnswer answer)
    {
        if (answer.Body.Length > MaxAnswerBytes)
        {
            return;
        }

        var wire = new RecordedAnswerWire(answer.RequestDigest.ToString(), answer.StatusCode, answer.ContentType, answer.Body, answer.ExtensionResponses);
        try
        {
            await redis.Database.ScriptEvaluateAsync(
                RecordScript,
                [KeyOf(key)],
                [fingerprint.ToString(), JsonSerializer.SerializeToUtf8Bytes(wire, StateJsonContext.Default.RecordedAnswerWire)]).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            // Without the answer a repeat is asked upstream again.
            redis.CountFallback();
        }
    }

    private static IdentifierBinding? Parse(byte[]? value)
    {
        if (value is null || value.Length < Sha256Hash.Size * 2
            || !Sha256Hash.TryParse(Encoding.ASCII.GetString(value, 0, Sha256Hash.Size * 2), out var digest))
        {
            return null;
        }

        if (value.Length == Sha256Hash.Size * 2)
        {
            return new IdentifierBinding(digest, null);
        }

        try
        {
            var wire = JsonSerializer.Deserialize(value.AsSpan(Sha256Hash.Size * 2), StateJsonContext.Default.RecordedAnswerWire);
            return new IdentifierBinding(
                digest,
                wire is { Body: not null } && Sha256Hash.TryParse(wire.RequestDigest, out var request)
                    ? new RecordedAnswer(request, wire.StatusCode, wire.ContentType, wire.Body, wire.ExtensionResponses)
                    : null);
        }
        catch (JsonException)
        {
            return new IdentifierBinding(digest, null);
        }
    }

    private RedisKey KeyOf(Sha256Hash key) => redis.Key("pid:" + key.ToString(), "binding");
}
