using System.Diagnostics;
using System.Net;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Telemetry;

namespace Facilitator.Fast.Routing;

/// <summary>
/// One attempt on one upstream: sends the caller's bytes unchanged, reads the answer into a pooled buffer under
/// the attempt's timeout, and classifies the outcome as an answer or as a failure of a known kind.
/// </summary>
/// <remarks>
/// The classification is what settle safety rests on: only failures where the request provably never reached the
/// upstream, or was refused unread (connect/DNS/TLS failures and connect timeouts, 401/403/404/405/407/429), are
/// marked as such; a timeout (or 408), a 5xx, or a connection that broke after sending may have been acted on.
/// A 401 or 403 to a request that carried its configured credentials is <see cref="AttemptFailure.CredentialsRefused"/>:
/// the gateway is misconfigured, whatever the payment; the upstream's own words are kept for the logs and status API.
/// </remarks>
public static class UpstreamCall
{
    /// <param name="body">The request body to forward (a reference is held while it is sent); null for GET operations.</param>
    /// <param name="query">The caller's discovery query, else null.</param>
    /// <param name="callerAborted">Cancels the attempt when the caller is gone; settle passes <c>None</c>.</param>
    /// <param name="attempt">The attempt's number within its call, for its span.</param>
    /// <param name="hedged">Whether this attempt is a hedge, for its span.</param>
    /// <param name="attemptSource">
    /// The attempt's own cancellation, linked to <paramref name="callerAborted"/>, when its caller must be able to cancel
    /// it (a hedge race): the attempt's timeout is set on it rather than on a second source made here. Null: made here.
    /// </param>
    public static async Task<AttemptResult> SendAsync(
        Upstream upstream,
        FacilitatorOperation operation,
        PooledBytes? body,
        DiscoveryQuery? query,
        int maxResponseBytes,
        CancellationToken callerAborted,
        int attempt = 1,
        bool hedged = false,
        HedgedAttemptCancellation? attemptSource = null)
    {
        using var activity = FacilitatorTelemetry.Source.StartActivity(FacilitatorOperations.Name(operation), ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag("facilitator.upstream.id", upstream.Id);
            activity.SetTag("facilitator.attempt", attempt);
            activity.SetTag("facilitator.hedged", hedged);
        }

        // Only an upstream with credentials has a token to keep out of its words: the others pay nothing for it.
        var sent = upstream.Credentials is null ? null : new System.Runtime.CompilerServices.StrongBox<string?>();
        var result = await SendCoreAsync(upstream, operation, body, query, maxResponseBytes, callerAborted, sent, attemptSource).ConfigureAwait(false);
        if (result.Detail is { } detail)
        {
            // One place for an upstream's words on their way to logs, the status API, traces and callers: whatever looks
            // like a token, the credentials' own secrets, and any piece of the token this very request carried.
            var redacted = UpstreamErrorText.Redact(detail);
            redacted = upstream.Credentials is { } credentials ? credentials.Redact(redacted) : redacted;
            result = result with { Detail = sent?.Value is { } token ? UpstreamErrorText.RedactFragments(redacted, token) : redacted };
        }

        var outcome = result.Answered ? "answered" : result.Failure.ToString();
        if (activity is not null)
        {
            activity.SetTag("facilitator.outcome", outcome);
            activity.SetTag("http.response.status_code", result.StatusCode);
            if (!result.Answered)
            {
                activity.SetStatus(ActivityStatusCode.Error, result.Describe());
            }
        }

        if (FacilitatorTelemetry.UpstreamAttempts.Enabled)
        {
            var name = FacilitatorOperations.Name(operation);
            FacilitatorTelemetry.UpstreamAttempts.Add(1, new("facilitator.upstream.id", upstream.Id), new("facilitator.operation", name), new("facilitator.outcome", outcome));
            FacilitatorTelemetry.UpstreamDuration.Record(result.ElapsedMicroseconds / 1000.0, new("facilitator.upstream.id", upstream.Id), new("facilitator.operation", name));
        }

        return result;
    }

    private static async ValueTask<AttemptResult> SendCoreAsync(
        Upstream upstream,
        FacilitatorOperation operation,
        PooledBytes? body,
        DiscoveryQuery? query,
        int maxResponseBytes,
        CancellationToken callerAborted,
        System.Runtime.CompilerServices.StrongBox<string?>? sent,
        HedgedAttemptCancellation? attemptSource)
    {
        var started = Stopwatch.GetTimestamp();
        var limit = upstream.Definition.TimeoutFor(operation);
        using var owned = attemptSource is null ? CreateAttemptSource(callerAborted) : null;
        var timeout = attemptSource?.Source ?? owned!;
        timeout.CancelAfter(limit);

        // Read once: a hedge race disposes a superseded attempt's source while the attempt is still unwinding.
        var cancellation = timeout.Token;

        using var request = CreateRequest(upstream, operation, body, query, out var credentialsSent);
        if (sent is not null && credentialsSent)
        {
            sent.Value = request.Headers.Authorization?.Parameter;
        }
        PooledBytes? buffer = null;
        try
        {
            using var response = await upstream.Invoker.SendAsync(request, cancellation).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var early = ClassifyStatus(operation, status);
            if (status is 401 or 403 && (credentialsSent || operation == FacilitatorOperation.Settle))
            {
                var refusal = await UpstreamErrorText.ReadRefusalBytesAsync(response, cancellation).ConfigureAwait(false);
                var verdict = operation == FacilitatorOperation.Settle ? UpstreamVerdict.Read(operation, refusal) : default;
                if (verdict.HasVerdict || verdict.IsPending || !string.IsNullOrEmpty(verdict.Transaction))
                {
                    // A settle answer under a 401/403 (success, pending, a transaction, a failure) is no proof that nothing
                    // happened: the settlement stays with this upstream, never moves to another.
                    return new AttemptResult(
                        AttemptFailure.Pending, status, null, null, $"HTTP {status} with a settle answer: {Clip(verdict.Reason)}", Elapsed(started),
                        Transaction: verdict.Transaction, CredentialsSent: credentialsSent);
                }

                var text = UpstreamErrorText.Describe(refusal, status);
                return credentialsSent
                    ? Failed(AttemptFailure.CredentialsRefused, status, text, started) with { CredentialsSent = true }
                    : Failed(AttemptFailure.Refused, status, text, started);
            }

            // A settle's 5xx is read: facilitators answer verdicts and pending settlements with 500 too.
            if (early != AttemptFailure.None && !(early == AttemptFailure.ServerError && operation == FacilitatorOperation.Settle))
            {
                return Failed(early, status, $"HTTP {status}", started) with { RetryAfter = Header(response, "Retry-After") };
            }

            var declared = response.Content.Headers.ContentLength;
            if (declared > maxResponseBytes)
            {
                return Failed(AttemptFailure.InvalidResponse, status, $"answer of {declared} bytes exceeds {maxResponseBytes}", started);
            }

            buffer = new PooledBytes((int)(declared ?? 1023) + 1);
            if (!await ReadBodyAsync(response, buffer, maxResponseBytes, cancellation).ConfigureAwait(false))
            {
                return Failed(AttemptFailure.InvalidResponse, status, $"answer exceeds {maxResponseBytes} bytes", started);
            }

            if (operation is FacilitatorOperation.Verify or FacilitatorOperation.Settle && Interpret(operation, status, buffer.Span) is { } failure)
            {
                return failure with { ElapsedMicroseconds = Elapsed(started), RetryAfter = Header(response, "Retry-After") };
            }

            // Only requests that carry a caller's input can be rejected for it; a probe of /supported is the gateway's own.
            if (status is >= 400 and < 500 && operation == FacilitatorOperation.Discovery && !X402AnswerShape.IsAnswer(operation, false, buffer.Span))
            {
                return Failed(AttemptFailure.Rejected, status, $"HTTP {status}: {UpstreamErrorText.Snippet(buffer.Span)}", started);
            }

            if (!X402AnswerShape.IsAnswer(operation, status is >= 200 and < 300, buffer.Span))
            {
                return Failed(AttemptFailure.InvalidResponse, status, $"HTTP {status} body is not a {FacilitatorOperations.Name(operation)} answer", started);
            }

            var answer = new AttemptResult(
                AttemptFailure.None, status, Header(response, "Content-Type"), buffer, null, Elapsed(started),
                ExtensionResponses: Header(response, "EXTENSION-RESPONSES"), CredentialsSent: credentialsSent);
            buffer = null;
            return answer;
        }
        catch (OperationCanceledException ex) when (!timeout.IsCancellationRequested && ex.InnerException is TimeoutException)
        {
            // SocketsHttpHandler.ConnectTimeout: the connection was never established, so nothing was sent.
            return Failed(AttemptFailure.ConnectFailed, 0, "connect timed out", started);
        }
        catch (OperationCanceledException) when (!callerAborted.IsCancellationRequested && attemptSource is not { Superseded: true })
        {
            // Not the caller, and not a hedge race cancelling the slower attempt (that ends in the exception): the timeout.
            return Failed(AttemptFailure.Timeout, 0, $"after {limit.TotalMilliseconds:0} ms", started);
        }
        catch (HttpRequestException ex)
        {
            return Failed(Classify(ex), 0, ex.HttpRequestError.ToString(), started);
        }
        catch (IOException)
        {
            return Failed(AttemptFailure.Transport, 0, null, started);
        }
        finally
        {
            buffer?.Dispose();
        }
    }

    /// <summary>A cancellation source for one attempt: linked to the caller's, or standing alone where there is none (settle).</summary>
    public static CancellationTokenSource CreateAttemptSource(CancellationToken callerAborted) =>
        callerAborted.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(callerAborted) : new CancellationTokenSource();

    /// <param name="credentialsSent">False when credentials were deliberately left off (an anonymous discovery query, an
    /// operation the upstream serves publicly).</param>
    private static HttpRequestMessage CreateRequest(
        Upstream upstream, FacilitatorOperation operation, PooledBytes? body, DiscoveryQuery? query, out bool credentialsSent)
    {
        var endpoint = upstream.Endpoint(operation);
        var request = new HttpRequestMessage(
            operation is FacilitatorOperation.Verify or FacilitatorOperation.Settle ? HttpMethod.Post : HttpMethod.Get,
            string.IsNullOrEmpty(query?.Text) ? endpoint : new Uri(endpoint + query.Text));
        if (endpoint.Scheme == Uri.UriSchemeHttps)
        {
            // HTTP/2 where TLS negotiates it (many requests over few connections), HTTP/1.1 where it does not.
            request.Version = System.Net.HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        }

        if (body is not null)
        {
            request.Content = new PooledBytesContent(body);
        }

        credentialsSent = false;
        if (query is { WithOperatorCredentials: false })
        {
            return request;
        }

        foreach (var header in upstream.Definition.Headers[(int)operation])
        {
            if (!request.Headers.TryAddWithoutValidation(header.Key, header.Value))
            {
                request.Content?.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        credentialsSent = upstream.Credentials?.Apply(request, operation) ?? false;
        return request;
    }

    private static AttemptFailure ClassifyStatus(FacilitatorOperation operation, int status) => status switch
    {
        >= 200 and < 300 => AttemptFailure.None,
        429 => AttemptFailure.TooManyRequests,
        404 or 405 or 501 when operation == FacilitatorOperation.Discovery => AttemptFailure.NotOffered,
        401 or 403 or 404 or 405 or 407 => AttemptFailure.Refused,

        // Proxies and gateways also answer 408 for their own timeouts after forwarding: it proves nothing.
        408 => AttemptFailure.Timeout,
        >= 400 and < 500 => AttemptFailure.None,
        >= 500 => AttemptFailure.ServerError,
        _ => AttemptFailure.InvalidResponse,
    };

    /// <summary>
    /// Reads a verify or settle answer as its facilitator means it; null when it is an answer to return as it came.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>A settle reported pending (any status) is <see cref="AttemptFailure.Pending"/>, with its transaction.</item>
    /// <item>An account error (402 <c>payment_method_required</c>) refused the gateway, not the payment: failover.</item>
    /// <item>A settle's 5xx with <c>success:false</c> and a definite reason is the verdict (x402-rs answers on-chain
    /// failures so); without one, or with <c>unexpected_settle_error</c>, it may have been processed.</item>
    /// <item>A 4xx without a verdict is a rejection of the request; for settle only where it says the request was
    /// unreadable, otherwise it may have been processed.</item>
    /// </list>
    /// </remarks>
    private static AttemptResult? Interpret(FacilitatorOperation operation, int status, ReadOnlySpan<byte> body)
    {
        var verdict = UpstreamVerdict.Read(operation, body);
        if (operation == FacilitatorOperation.Settle && (verdict.IsPending || verdict is { HasVerdict: true, Accepted: false, IsDefinite: false }))
        {
            // Pending by its own word, or a failure that is an exception's text rather than a reason (the official v1
            // facilitator answers a receipt that did not come in time so, after it broadcast): the payment may happen.
            return new AttemptResult(AttemptFailure.Pending, status, null, null, $"HTTP {status} {Clip(verdict.Reason)}", 0, Transaction: verdict.Transaction);
        }

        if (status is >= 400 and < 500 && verdict.IsAccountError)
        {
            return new AttemptResult(AttemptFailure.Refused, status, null, null, $"HTTP {status} {verdict.Reason}", 0);
        }

        if (status >= 500)
        {
            return verdict is { HasVerdict: true, Accepted: false, IsDefinite: true }
                ? null
                : new AttemptResult(AttemptFailure.ServerError, status, null, null, $"HTTP {status}", 0);
        }

        if (status is >= 400 and < 500 && !verdict.HasVerdict)
        {
            // A settle is known unprocessed only where a parser refused it: a plain-text or HTML 400/422, or a status that
            // says the request could not be taken in. A JSON error can be a facilitator's catch-all after it broadcast.
            var unread = status is 411 or 413 or 414 or 415 or 431 || (status is 400 or 422 && !verdict.IsObject);
            var failure = operation != FacilitatorOperation.Settle || unread ? AttemptFailure.Rejected : AttemptFailure.Unconfirmed;
            return new AttemptResult(failure, status, null, null, $"HTTP {status}: {UpstreamErrorText.Snippet(body)}", 0);
        }

        return null;
    }

    private static string? Clip(string? reason) => reason is { Length: > 120 } ? reason[..120] + "…" : reason;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) || response.Content.Headers.NonValidated.TryGetValues(name, out values)
            ? values.ToString()
            : null;

    private static AttemptFailure Classify(HttpRequestException ex) => ex.HttpRequestError switch
    {
        HttpRequestError.NameResolutionError => AttemptFailure.NameResolution,
        HttpRequestError.ConnectionError or HttpRequestError.ProxyTunnelError => AttemptFailure.ConnectFailed,
        HttpRequestError.SecureConnectionError => AttemptFailure.SecureConnection,
        HttpRequestError.InvalidResponse or HttpRequestError.HttpProtocolError => AttemptFailure.InvalidResponse,
        _ => AttemptFailure.Transport,
    };

    private static async ValueTask<bool> ReadBodyAsync(HttpResponseMessage response, PooledBytes buffer, int maxBytes, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer.GetReadMemory(), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return true;
                }

                buffer.Advance(read);
                if (buffer.Length > maxBytes)
                {
                    return false;
                }
            }
        }
    }

    private static AttemptResult Failed(AttemptFailure failure, int status, string? detail, long started) =>
        new(failure, status, null, null, detail, Elapsed(started));

    private static long Elapsed(long started) => (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds;
}
