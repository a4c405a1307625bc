using System.Collections;

namespace Facilitator.Fast.Edge;

/// <summary>
/// The log scope of one request, <c>RequestPath:/verify RequestId:…</c>: what is logged while a request runs names it,
/// so the request id an error answer or the <c>X-Request-Id</c> header gives finds its lines. Holds the request's
/// strings, not the request: work the request started may log after the request's objects were reused.
/// </summary>
internal sealed class RequestLogScope(string requestId, string? path) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 2;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("RequestId", requestId),
        1 => new("RequestPath", path),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"RequestPath:{path} RequestId:{requestId}";
}
