namespace Facilitator.Fast.Events;

/// <summary>The validated <c>Events</c> section and the browser origins allowed to open the stream (the CORS origins).</summary>
internal sealed record EventsSettings(EventsOptions Options, IReadOnlyList<string> AllowedOrigins);
