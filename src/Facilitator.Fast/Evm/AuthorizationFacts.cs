namespace Facilitator.Fast.Evm;

/// <summary>
/// What an EIP-3009 payment authorizes, decoded from its fields into binary values: the chain and token, the transfer
/// the payer signed, what the requirements ask for, a digest of the signature's bytes, and whether that signature
/// recovers to the payer. The settlement ledger keys and fingerprints settlements by these, never by request strings.
/// </summary>
public struct AuthorizationFacts
{
    /// <summary>Every field below was read; false leaves the rest undefined.</summary>
    public bool Decoded;

    /// <summary>
    /// A 65-byte ECDSA signature over the EIP-712 digest recovered to <c>from</c>, and every hex field is written as the
    /// official verifier reads it: only the holder of the payer's key can have made this authorization, and the copy is
    /// not one that upstreams judge differently (<see cref="UnjudgedCause.NonCanonicalHex"/>), which must not act for the
    /// payer in the settlement ledger.
    /// </summary>
    public bool SignatureVerified;

    public ulong ChainId;
    public EvmAddress Asset;
    public TransferAuthorization Authorization;

    /// <summary><c>paymentRequirements.payTo</c>.</summary>
    public EvmAddress PayTo;

    /// <summary><c>paymentRequirements.amount</c> (v2) or <c>maxAmountRequired</c> (v1).</summary>
    public Protocol.UInt256 Required;

    /// <summary>SHA-256 of the signature's decoded bytes, whatever their length or the case of their hex.</summary>
    public Bytes32 SignatureDigest;

    /// <summary>The payment's id (<see cref="Protocol.PaymentId"/>): the same for every request of this authorization.</summary>
    public readonly Guid PaymentId => Protocol.PaymentId.Derive(ChainId, Asset, Authorization.From, Authorization.Nonce);
}
