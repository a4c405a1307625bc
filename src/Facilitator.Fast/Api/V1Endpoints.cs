using System.Text.Json;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Api;

/// <summary>
/// The payment lifecycle of the seed's <c>/v1</c> API: verify (one or a batch) into a payment id, settle by id (one or a
/// batch), and the payment's status (one or a batch); and <c>GET /</c>, which says where everything is. Errors are in the
/// service's error format with the seed's codes.
/// </summary>
public static class V1Endpoints
{
    /// <summary>A batch body holds up to 100 payments of up to the verify limit each.</summary>
    private const int BatchBodyLimit = 4 * 1024 * 1024;

    public static IEndpointRouteBuilder MapV1Endpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", RootAsync)
            .Describe("Service", "Where everything is.")
            .Answering(StatusCodes.Status200OK, typeof(ServiceIndex));
        endpoints.MapPost("/v1/verify", Guarded(VerifyAsync))
            .Describe("v1", "Verifies a payment (the seed's shape, or x402) and records it under a payment id.")
            .Accepting(typeof(V1VerifyRequest))
            .Answering(StatusCodes.Status200OK, typeof(V1PaymentResult))
            .Failing(400, 401, 402, 403, 410, 413, 422, 429, 501, 503);
        endpoints.MapPost("/v1/verify/batch", Guarded(VerifyBatchAsync))
            .Describe("v1", "Verifies up to 100 payments.")
            .Accepting(typeof(V1VerifyBatchRequest))
            .Answering(StatusCodes.Status200OK, typeof(List<V1PaymentResult>))
            .Failing(400, 401, 403, 413, 429, 503);
        endpoints.MapPost("/v1/settle", Guarded(SettleAsync))
            .Describe("v1", "Settles a verified payment by its id.")
            .Accepting(typeof(V1SettleRequest))
            .Answering(StatusCodes.Status200OK, typeof(V1PaymentResult))
            .Failing(400, 401, 403, 404, 409, 429, 503);
        endpoints.MapPost("/v1/settle/batch", Guarded(SettleBatchAsync))
            .Describe("v1", "Settles up to 100 payments by id.")
            .Accepting(typeof(V1PaymentIdsRequest))
            .Answering(StatusCodes.Status200OK, typeof(List<V1PaymentResult>))
            .Failing(400, 401, 403, 429, 503);
        endpoints.MapGet("/v1/status/{paymentId}", Guarded(StatusAsync))
            .Describe("v1", "A payment's status.")
            .Answering(StatusCodes.Status200OK, typeof(V1PaymentResult))
            .Failing(400, 401, 403, 404, 429, 503);
        endpoints.MapPost("/v1/status/batch", Guarded(StatusBatchAsync))
            .Describe("v1", "The status of up to 100 payments.")
            .Accepting(typeof(V1PaymentIdsRequest))
            .Answering(StatusCodes.Status200OK, typeof(List<V1PaymentResult>))
            .Failing(400, 401, 403, 429, 503);
        return endpoints;
    }

    /// <summary>The payment store out of reach (Redis down) is a 503 the caller may retry, never a 500.</summary>
    private static RequestDelegate Guarded(RequestDelegate handler) => async context =>
    {
        try
        {
            await handler(context).ConfigureAwait(false);
        }
        catch (PaymentStoreUnavailableException) when (!context.Response.HasStarted)
        {
            await ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status503ServiceUnavailable, ApiErrorWriter.UpstreamUnavailable,
                "The payment records are kept in Redis, which cannot be reached now; retry later.").ConfigureAwait(false);
        }
    };

    private static Task RootAsync(HttpContext context)
    {
        var events = context.RequestServices.GetRequiredService<Events.EventsSettings>().Options;
        var websocket = events.Enabled ? events.Path : null;
        return WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteString("name"u8, "Facilitator.Fast");
            writer.WriteString("version"u8, ServiceVersion.Current);
            writer.WriteString("health"u8, "/health");
            writer.WriteString("api"u8, "/v1");
            writer.WriteString("status"u8, "/api/facilitator-status");
            writer.WriteString("websocket"u8, websocket);
            writer.WriteString("x402"u8, "/verify, /settle, /supported, /discovery/resources");
            writer.WriteString("docs"u8, PageEndpoints.DocsPath);
            writer.WriteString("dashboard"u8, PageEndpoints.DashboardPath);
            writer.WriteString("openApi"u8, "/openapi/v1.json");
        });
    }

    private static async Task VerifyAsync(HttpContext context)
    {
        using var body = await ReadBodyAsync(context, VerifyLimit(context)).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        var outcome = await VerifyOneAsync(context.RequestServices, body.Memory, context.RequestAborted).ConfigureAwait(false);
        if (outcome.Problem is { } problem)
        {
            await WriteProblemAsync(context, problem).ConfigureAwait(false);
            return;
        }

        var record = outcome.Record!;
        await WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteBoolean("success"u8, true);
            writer.WriteString("paymentId"u8, PaymentId.Format(record.Id));
            writer.WriteString("status"u8, PaymentStatuses.Name(record.Status));
            writer.WriteString("fee"u8, record.Fee);
            writer.WritePropertyName("payment"u8);
            PaymentResultWriter.Write(writer, record);
        }).ConfigureAwait(false);
    }

    private static async Task VerifyBatchAsync(HttpContext context)
    {
        using var body = await ReadBodyAsync(context, BatchBodyLimit).ConfigureAwait(false);
        if (body is null || await ReadBatchAsync(context, body, "payments") is not { } items)
        {
            return;
        }

        var services = context.RequestServices;
        var concurrency = services.GetRequiredService<PaymentSettings>().BatchConcurrency;
        var limit = VerifyLimit(context);
        using var gate = new SemaphoreSlim(concurrency);
        var memory = body.Memory;
        var outcomes = await Task.WhenAll(items.Select(async item =>
        {
            if (item.Length > limit)
            {
                // Each item is held to the limit of a single /v1/verify: a batch is not a way around it.
                return (PaymentOutcome)PaymentProblem.Of("HTTP_413", $"The payment exceeds {limit} bytes, the limit of one /v1/verify.");
            }

            await gate.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                return await VerifyOneAsync(services, memory.Slice(item.Start, item.Length), context.RequestAborted).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);

        await WriteBatchAsync(context, outcomes.Length, outcomes.Count(static o => o.Problem is null), writer =>
        {
            for (var i = 0; i < outcomes.Length; i++)
            {
                writer.WriteStartObject();
                writer.WriteNumber("index"u8, i);
                writer.WriteBoolean("success"u8, outcomes[i].Problem is null);
                if (outcomes[i].Record is { } record)
                {
                    writer.WriteString("paymentId"u8, PaymentId.Format(record.Id));
                    writer.WriteString("status"u8, PaymentStatuses.Name(record.Status));
                    writer.WriteString("fee"u8, record.Fee);
                }
                else
                {
                    PaymentResultWriter.WriteProblem(writer, outcomes[i].Problem!);
                }

                writer.WriteEndObject();
            }
        }).ConfigureAwait(false);
    }

    /// <summary>One payment, in either shape: the x402 request as <c>/verify</c> takes it, or the seed's <c>{proof, requirements}</c>.</summary>
    private static async Task<PaymentOutcome> VerifyOneAsync(IServiceProvider services, ReadOnlyMemory<byte> item, CancellationToken cancellationToken)
    {
        var payments = services.GetRequiredService<PaymentService>();
        switch (V1RequestShape.Of(item.Span))
        {
            case V1RequestShapeKind.X402:
                return await payments.VerifyAsync(item, cancellationToken).ConfigureAwait(false);
            case V1RequestShapeKind.Seed:
                var translated = SeedPaymentTranslator.Translate(item.Span);
                return translated.Succeeded
                    ? await payments.VerifyAsync(translated.Request, cancellationToken).ConfigureAwait(false)
                    : translated.Error;
            default:
                return PaymentProblem.Validation(
                    "Expected an x402 request {x402Version, paymentPayload, paymentRequirements} or the {proof, requirements} of the seed's API.");
        }
    }

    private static async Task SettleAsync(HttpContext context)
    {
        using var body = await ReadBodyAsync(context, 8 * 1024).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        if (!V1Requests.TryReadString(body.Span, "paymentId"u8, out var text, out var shapeProblem) || shapeProblem is not null)
        {
            await WriteProblemAsync(context, PaymentProblem.Validation(shapeProblem ?? "Invalid body.", "paymentId")).ConfigureAwait(false);
            return;
        }

        if (!PaymentId.TryParse(text, out var id))
        {
            await WriteProblemAsync(context, PaymentProblem.Validation("paymentId must be a UUID.", "paymentId")).ConfigureAwait(false);
            return;
        }

        var outcome = await context.RequestServices.GetRequiredService<PaymentSettler>().SettleAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (outcome.Problem is { } problem)
        {
            await WriteProblemAsync(context, problem).ConfigureAwait(false);
            return;
        }

        var record = outcome.Record!;
        await WriteJsonAsync(context, record.Status == PaymentStatus.Settling ? 202 : 200, writer => WriteSettled(writer, record)).ConfigureAwait(false);
    }

    private static void WriteSettled(Utf8JsonWriter writer, PaymentRecord record)
    {
        writer.WriteBoolean("success"u8, record.Status == PaymentStatus.Settled);
        writer.WriteString("paymentId"u8, PaymentId.Format(record.Id));
        writer.WriteString("status"u8, PaymentStatuses.Name(record.Status));
        if (record.Transaction is { } transaction)
        {
            writer.WriteString("transaction"u8, transaction);
        }

        if (record.Error is { } error)
        {
            writer.WriteString("error"u8, error);
        }

        if (record.SettledBy is { } upstream)
        {
            writer.WriteString("upstream"u8, upstream);
        }

        writer.WritePropertyName("payment"u8);
        PaymentResultWriter.Write(writer, record);
    }

    private static async Task SettleBatchAsync(HttpContext context)
    {
        using var body = await ReadBodyAsync(context, 64 * 1024).ConfigureAwait(false);
        if (body is null || await ReadIdsAsync(context, body, minimum: 1) is not { } ids)
        {
            return;
        }

        var settler = context.RequestServices.GetRequiredService<PaymentSettler>();
        var concurrency = context.RequestServices.GetRequiredService<PaymentSettings>().BatchConcurrency;
        using var gate = new SemaphoreSlim(concurrency);
        var outcomes = await Task.WhenAll(ids.Select(async entry =>
        {
            if (entry.Id is not { } id)
            {
                return PaymentProblem.Validation("paymentId must be a UUID.", "paymentIds");
            }

            await gate.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                return await settler.SettleAsync(id, context.RequestAborted).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);

        await WriteBatchAsync(context, outcomes.Length, outcomes.Count(static o => o.Record?.Status == PaymentStatus.Settled), writer =>
        {
            for (var i = 0; i < outcomes.Length; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("paymentId"u8, ids[i].Text);
                if (outcomes[i].Record is { } record)
                {
                    WriteSettled(writer, record);
                }
                else
                {
                    writer.WriteBoolean("success"u8, false);
                    PaymentResultWriter.WriteProblem(writer, outcomes[i].Problem!);
                }

                writer.WriteEndObject();
            }
        }).ConfigureAwait(false);
    }

    private static async Task StatusAsync(HttpContext context)
    {
        var text = context.Request.RouteValues["paymentId"] as string;
        if (!PaymentId.TryParse(text, out var id))
        {
            await WriteProblemAsync(context, PaymentProblem.Validation("paymentId must be a UUID.", "paymentId")).ConfigureAwait(false);
            return;
        }

        var record = await context.RequestServices.GetRequiredService<PaymentService>().GetAsync(id).ConfigureAwait(false);
        await WriteJsonAsync(context, record is null ? 404 : 200, writer =>
        {
            writer.WriteBoolean("found"u8, record is not null);
            if (record is not null)
            {
                writer.WritePropertyName("payment"u8);
                PaymentResultWriter.Write(writer, record);
            }
        }).ConfigureAwait(false);
    }

    private static async Task StatusBatchAsync(HttpContext context)
    {
        using var body = await ReadBodyAsync(context, 64 * 1024).ConfigureAwait(false);
        if (body is null || await ReadIdsAsync(context, body, minimum: 0) is not { } ids)
        {
            return;
        }

        var payments = context.RequestServices.GetRequiredService<PaymentService>();
        var records = new PaymentRecord?[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            records[i] = ids[i].Id is { } id ? await payments.GetAsync(id).ConfigureAwait(false) : null;
        }

        await WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteNumber("total"u8, ids.Count);
            writer.WriteNumber("found"u8, records.Count(static r => r is not null));
            writer.WriteStartArray("results"u8);
            for (var i = 0; i < ids.Count; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("paymentId"u8, ids[i].Text);
                writer.WriteBoolean("found"u8, records[i] is not null);
                if (records[i] is { } record)
                {
                    writer.WritePropertyName("payment"u8);
                    PaymentResultWriter.Write(writer, record);
                }
                else if (ids[i].Id is null)
                {
                    writer.WriteString("error"u8, "paymentId must be a UUID.");
                    writer.WriteString("code"u8, SeedErrorCodes.ValidationError);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static int VerifyLimit(HttpContext context) =>
        context.RequestServices.GetRequiredService<Routing.RoutingConfiguration>().Aggregator.MaxRequestBodyBytes;

    /// <summary>The body, or null once a 413/400 has been written.</summary>
    private static async Task<PooledBytes?> ReadBodyAsync(HttpContext context, int limit)
    {
        var body = RequestBodyReader.RentFor(context.Request, limit);
        switch (await RequestBodyReader.ReadAsync(context.Request, body, limit, context.RequestAborted).ConfigureAwait(false))
        {
            case BodyReadOutcome.Complete:
                return body;
            case BodyReadOutcome.TooLarge:
                body.Dispose();
                await ApiErrorWriter.WriteAsync(context, 413, "HTTP_413", $"The request body exceeds {limit} bytes.").ConfigureAwait(false);
                return null;
            default:
                body.Dispose();
                await ApiErrorWriter.WriteAsync(context, 400, ApiErrorWriter.ValidationError, "The request body could not be read as HTTP.").ConfigureAwait(false);
                return null;
        }
    }

    private static async Task<List<(int Start, int Length)>?> ReadBatchAsync(HttpContext context, PooledBytes body, string field)
    {
        if (!V1Requests.TryReadArray(body.Span, System.Text.Encoding.UTF8.GetBytes(field), out var items, out var problem))
        {
            await WriteProblemAsync(context, PaymentProblem.Validation(problem!, problem!.StartsWith("must", StringComparison.Ordinal) ? field : null)).ConfigureAwait(false);
            return null;
        }

        if (items is not { Count: > 0 and <= V1Requests.MaxBatch })
        {
            await WriteProblemAsync(context, PaymentProblem.Validation($"{field} must be an array of 1 to {V1Requests.MaxBatch} items.", field)).ConfigureAwait(false);
            return null;
        }

        return items;
    }

    /// <summary>The <c>paymentIds</c> array: each id as sent and as parsed (null when it is not a UUID).</summary>
    private static async Task<List<(string Text, Guid? Id)>?> ReadIdsAsync(HttpContext context, PooledBytes body, int minimum)
    {
        if (!V1Requests.TryReadArray(body.Span, "paymentIds"u8, out var items, out var problem))
        {
            await WriteProblemAsync(context, PaymentProblem.Validation(problem!, "paymentIds")).ConfigureAwait(false);
            return null;
        }

        items ??= [];
        if (items.Count < minimum || items.Count > V1Requests.MaxBatch)
        {
            await WriteProblemAsync(context, PaymentProblem.Validation($"paymentIds must be an array of {minimum} to {V1Requests.MaxBatch} ids.", "paymentIds")).ConfigureAwait(false);
            return null;
        }

        var ids = new List<(string, Guid?)>(items.Count);
        foreach (var (start, length) in items)
        {
            var raw = body.Span.Slice(start, length);
            string? text = null;
            if (raw.Length > 2 && raw[0] == (byte)'"')
            {
                var reader = new Utf8JsonReader(raw);
                reader.Read();
                text = reader.GetString();
            }

            ids.Add(PaymentId.TryParse(text, out var id) ? (text!, id) : (Bounded(text ?? System.Text.Encoding.UTF8.GetString(raw)), null));
        }

        return ids;
    }

    private static string Bounded(string text) => text.Length > 64 ? text[..64] + "…" : text;

    private static Task WriteProblemAsync(HttpContext context, PaymentProblem problem) =>
        ApiErrorWriter.WriteAsync(
            context, problem.Status, problem.Code, problem.Message,
            problem.Details);

    private static Task WriteBatchAsync(HttpContext context, int total, int succeeded, Action<Utf8JsonWriter> writeResults) =>
        WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteNumber("total"u8, total);
            writer.WriteNumber("succeeded"u8, succeeded);
            writer.WriteNumber("failed"u8, total - succeeded);
            writer.WriteStartArray("results"u8);
            writeResults(writer);
            writer.WriteEndArray();
        });

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> writeMembers)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            writer.WriteStartObject();
            writeMembers(writer);
            writer.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
