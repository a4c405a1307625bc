using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Facilitator.Fast.Load;

/// <summary>
/// An upstream facilitator for the chaos run, on the tests' <see cref="FakeFacilitator"/> (a real HTTP server on
/// loopback): it settles each authorization (nonce) at most once itself — a repeat of one it settled is answered that
/// settlement again, as Coinbase CDP and PayAI answer an identical payload — and it records every settle it received,
/// per nonce, with what it did with it, so the run can tell from the upstreams' own counts whether an authorization
/// reached two of them. It can be switched to refuse (503, nothing processed), to hang (the settle is processed but
/// the answer is held until the caller gives up: the ambiguous case) and back.
/// </summary>
internal sealed partial class ChaosUpstream : IAsyncDisposable
{
    private readonly FakeFacilitator _fake;
    private readonly ConcurrentDictionary<string, NonceRecord> _nonces = new(StringComparer.Ordinal);
    private readonly Func<double> _clock;
    private volatile UpstreamMode _mode = UpstreamMode.Serving;

    private ChaosUpstream(string id, FakeFacilitator fake, Func<double> clock)
    {
        Id = id;
        _fake = fake;
        _clock = clock;
        fake.On("/settle", SettleAsync);
        fake.On("/verify", context => AnswerAsync(context, $$"""{"isValid":true,"payer":"{{FakeFacilitator.Payer}}"}"""));
        fake.On("/supported", context => AnswerAsync(
            context, """{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"},{"x402Version":2,"scheme":"exact","network":"eip155:84532"}],"extensions":[],"signers":{}}"""));
    }

    public string Id { get; }

    public string Url => _fake.Url;

    public UpstreamMode Mode
    {
        get => _mode;
        set => _mode = value;
    }

    /// <summary>Every settle received, per nonce (lower-case hex with <c>0x</c>).</summary>
    public IReadOnlyDictionary<string, NonceRecord> Nonces => _nonces;

    public long SettlesReceived => _nonces.Values.Sum(static n => n.Receipts.Count);

    /// <param name="clock">Seconds since the run started, to time each receipt.</param>
    public static async Task<ChaosUpstream> StartAsync(string id, Func<double> clock) => new(id, await FakeFacilitator.StartAsync(), clock);

    /// <summary>The transaction this fake reports for a nonce: the nonce itself, so an answer names its own authorization.</summary>
    public static string TransactionOf(string nonce) => nonce;

    public static string? NonceOf(string body) => NoncePattern().Match(body) is { Success: true } match ? match.Groups[1].Value.ToLowerInvariant() : null;

    private async Task SettleAsync(HttpContext context)
    {
        var nonce = NonceOf(FakeFacilitator.RequestOf(context).BodyText) ?? "unreadable";
        var record = _nonces.GetOrAdd(nonce, static _ => new NonceRecord());
        var mode = _mode;
        bool settledHere;
        lock (record)
        {
            settledHere = record.Settled;
            if (mode != UpstreamMode.Refusing)
            {
                record.Settled = true;
            }

            record.Receipts.Add(new Receipt(_clock(), mode, settledHere));
        }

        var answer = $$"""{"success":true,"transaction":"{{TransactionOf(nonce)}}","network":"eip155:84532","payer":"{{FakeFacilitator.Payer}}"}""";
        await RespondAsync(context, mode, answer);
    }

    private Task AnswerAsync(HttpContext context, string json) => RespondAsync(context, _mode, json);

    private static async Task RespondAsync(HttpContext context, UpstreamMode mode, string json)
    {
        switch (mode)
        {
            case UpstreamMode.Refusing:
                await FakeFacilitator.WriteAsync(context, 503, """{"error":"service unavailable"}""");
                return;
            case UpstreamMode.Hanging:
                try
                {
                    await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                await FakeFacilitator.WriteAsync(context, 200, json);
                return;
            default:
                await FakeFacilitator.WriteAsync(context, 200, json);
                return;
        }
    }

    public ValueTask DisposeAsync() => _fake.DisposeAsync();

    [GeneratedRegex("\"nonce\":\"(0x[0-9a-fA-F]{64})\"")]
    private static partial Regex NoncePattern();

    /// <summary>What the upstream does with what it receives.</summary>
    public enum UpstreamMode
    {
        /// <summary>Answers at once; settles what it has not settled yet.</summary>
        Serving,

        /// <summary>503 to everything, having processed nothing.</summary>
        Refusing,

        /// <summary>Processes a settle but holds every answer until the caller gives up.</summary>
        Hanging,
    }

    /// <summary>One settle received: when (s since the start), in which mode, and whether this upstream had settled the nonce already.</summary>
    public sealed record Receipt(double At, UpstreamMode Mode, bool AlreadySettledHere);

    /// <summary>The settles of one nonce at one upstream.</summary>
    public sealed class NonceRecord
    {
        public List<Receipt> Receipts { get; } = [];

        /// <summary>This upstream processed the authorization (answered its success, or held the answer while hanging).</summary>
        public bool Settled { get; set; }
    }
}
