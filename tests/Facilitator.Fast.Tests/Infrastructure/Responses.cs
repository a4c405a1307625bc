using System.Text.Json;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>Reading gateway answers in assertions.</summary>
internal static class Responses
{
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    public static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
