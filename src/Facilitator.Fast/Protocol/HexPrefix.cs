namespace Facilitator.Fast.Protocol;

/// <summary>
/// How hex text begins. Every decoder reads a lower-case <c>0x</c>; viem (the official verifier) reads nothing else,
/// while others strip <c>0X</c> or read bare digits, so a payment written otherwise gets a different verdict from each.
/// </summary>
public enum HexPrefix : byte
{
    /// <summary><c>0x</c>.</summary>
    Lower = 0,

    /// <summary><c>0X</c>.</summary>
    Upper,

    /// <summary>Digits without a prefix.</summary>
    None,
}
