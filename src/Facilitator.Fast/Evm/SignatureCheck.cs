namespace Facilitator.Fast.Evm;

/// <summary>Why a 65-byte ECDSA signature did or did not recover to an address.</summary>
public enum SignatureCheck : byte
{
    Recovered = 0,

    /// <summary><c>v</c> is not 27, 28, 0 or 1.</summary>
    InvalidRecoveryId,

    /// <summary><c>s</c> is above n/2: malleable, and refused by USDC's <c>ecrecover</c> wrapper.</summary>
    HighS,

    /// <summary><c>r</c> or <c>s</c> is zero or not below the curve order.</summary>
    OutOfRange,

    /// <summary>No public key recovers from this signature and digest.</summary>
    NotRecoverable,
}
