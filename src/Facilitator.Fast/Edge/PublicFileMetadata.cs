namespace Facilitator.Fast.Edge;

/// <summary>
/// Marks an endpoint that serves a static file of the binary (the pages at <c>/dashboard</c> and <c>/docs</c>, the
/// OpenAPI document): it holds no data of the service, so it is served without credentials whatever the route groups
/// require, and the page asks for them before it calls the API. Rate limits still apply.
/// </summary>
public sealed class PublicFileMetadata
{
    public static readonly PublicFileMetadata Instance = new();

    private PublicFileMetadata()
    {
    }
}
