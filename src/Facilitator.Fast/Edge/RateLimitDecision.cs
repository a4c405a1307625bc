namespace Facilitator.Fast.Edge;

/// <summary>One token-bucket decision: whether the request may pass, what is left, and when the next token comes.</summary>
public readonly record struct RateLimitDecision(bool Allowed, int Remaining, double SecondsUntilToken, double SecondsUntilFull);
