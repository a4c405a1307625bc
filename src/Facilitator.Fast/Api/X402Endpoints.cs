using Facilitator.Fast.Edge;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Settlement;

namespace Facilitator.Fast.Api;

/// <summary>
/// The x402 facilitator API that resource servers point their facilitator URL at: <c>POST /verify</c>,
/// <c>POST /settle</c>, <c>GET /supported</c> and <c>GET /discovery/resources</c>.
/// </summary>
public static class X402Endpoints
{
    public const string UpstreamHeader = "X-Facilitator-Upstream";
    public const string AttemptsHeader = "X-Facilitator-Attempts";

    public static IEndpointRouteBuilder MapX402Endpoints(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var payments = new PaymentHandler(
            services.GetRequiredService<FailoverRouter>(),
            services.GetRequiredService<SettlementCoordinator>(),
            services.GetRequiredService<PaymentIdentifierBindings>(),
            services.GetRequiredService<RoutingConfiguration>(),
            services.GetRequiredService<LocalVerifier>(),
            services.GetRequiredService<IPaymentEvents>(),
            services.GetRequiredService<TimeProvider>());
        endpoints.MapPost("/verify", context => payments.HandleAsync(context, FacilitatorOperation.Verify))
            .Describe("x402", "Verifies a payment (x402 v1 or v2): judged locally when it can be, else by the first upstream that answers.")
            .Accepting(typeof(X402Request))
            .Answering(StatusCodes.Status200OK, typeof(X402VerifyAnswer))
            .Answering(StatusCodes.Status400BadRequest, typeof(X402VerifyAnswer))
            .Answering(StatusCodes.Status503ServiceUnavailable, typeof(X402VerifyAnswer))
            .Failing(StatusCodes.Status401Unauthorized, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status429TooManyRequests);
        endpoints.MapPost("/settle", context => payments.HandleAsync(context, FacilitatorOperation.Settle))
            .Describe("x402", "Settles a payment (x402 v1 or v2): never hedged, each authorization once, pending answered as 202.")
            .Accepting(typeof(X402Request))
            .Answering(StatusCodes.Status200OK, typeof(X402SettleAnswer))
            .Answering(StatusCodes.Status202Accepted, typeof(X402SettleAnswer))
            .Answering(StatusCodes.Status400BadRequest, typeof(X402SettleAnswer))
            .Answering(StatusCodes.Status503ServiceUnavailable, typeof(X402SettleAnswer))
            .Failing(StatusCodes.Status401Unauthorized, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status429TooManyRequests);
        endpoints.MapGet("/supported", SupportedAsync)
            .Describe("x402", "The union of the healthy upstreams' supported kinds.")
            .Answering(StatusCodes.Status200OK, typeof(SupportedResponse))
            .Failing(StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);
        endpoints.MapGet("/discovery/resources", DiscoveryAsync)
            .Describe("x402", "Discovery of x402 resources (type, limit, offset), passed to the upstreams that offer it.")
            .Answering(StatusCodes.Status200OK, null)
            .Failing(StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    private static async Task SupportedAsync(HttpContext context)
    {
        var catalog = context.RequestServices.GetRequiredService<SupportedCatalog>();
        var answer = await catalog.GetAsync(context.RequestAborted).ConfigureAwait(false);
        if (!answer.Available)
        {
            await ApiErrorWriter.WriteAsync(
                context,
                StatusCodes.Status503ServiceUnavailable,
                ApiErrorWriter.UpstreamUnavailable,
                $"No facilitator answered /supported: {answer.FailureSummary}").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = answer.Json.Length;
        await context.Response.Body.WriteAsync(answer.Json, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task DiscoveryAsync(HttpContext context)
    {
        var router = context.RequestServices.GetRequiredService<FailoverRouter>();
        using var result = await router.RouteAsync(
            FacilitatorOperation.Discovery,
            null,
            new DiscoveryQuery(context.Request.QueryString.Value ?? "", context.Items.ContainsKey(AuthenticationGate.OperatorCredentialsItem)),
            context.RequestAborted).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case RouteOutcome.Answered:
                await UpstreamAnswerWriter.WriteAsync(context, result).ConfigureAwait(false);
                return;
            case RouteOutcome.Rejected:
                await ApiErrorWriter.WriteAsync(
                    context, StatusCodes.Status400BadRequest, ApiErrorWriter.ValidationError,
                    $"Every facilitator rejected the query: {result.FailureSummary}").ConfigureAwait(false);
                return;
            case RouteOutcome.NotOffered:
                await ApiErrorWriter.WriteAsync(
                    context, StatusCodes.Status404NotFound, ApiErrorWriter.NotFound,
                    $"No upstream facilitator offers discovery: {result.FailureSummary}").ConfigureAwait(false);
                return;
            default:
                await ApiErrorWriter.WriteAsync(
                    context, StatusCodes.Status503ServiceUnavailable, ApiErrorWriter.UpstreamUnavailable,
                    $"All facilitators failed: {result.FailureSummary}").ConfigureAwait(false);
                return;
        }
    }
}
