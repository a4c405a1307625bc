using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// The outcome of one HTTP attempt on one upstream. When <see cref="Failure"/> is <see cref="AttemptFailure.None"/>
/// the answer's bytes are in <see cref="Body"/>, which the receiver must dispose.
/// </summary>
public readonly record struct AttemptResult(
    AttemptFailure Failure,
    int StatusCode,
    string? ContentType,
    PooledBytes? Body,
    string? Detail,
    long ElapsedMicroseconds)
{
    public bool Answered => Failure == AttemptFailure.None;

    /// <summary>"timed out after 5000 ms", "server error (HTTP 502)": how the attempt failed, for messages and logs.</summary>
    public string Describe() =>
        Detail is null ? Failure.Describe() : $"{Failure.Describe()} ({Detail})";
}
