namespace Facilitator.Fast.Evm;

/// <summary>What local verification does with a payment it judged.</summary>
public enum LocalVerificationMode : byte
{
    /// <summary>A payment that fails a local check is answered locally; no upstream is called.</summary>
    Enforce = 0,

    /// <summary>The verdict is computed and compared with the upstream's answer, which is what the caller gets.</summary>
    Shadow,

    Off,
}

/// <summary>Section <c>LocalVerification</c>: local checks of EVM <c>exact</c> payments before they reach an upstream.</summary>
public sealed class LocalVerificationOptions
{
    public const string SectionName = "LocalVerification";

    public LocalVerificationMode Mode { get; set; } = LocalVerificationMode.Enforce;

    /// <summary>
    /// Treat every payer as an externally owned account, so a 65-byte signature that does not recover to
    /// <c>from</c> is rejected. Turn off when payers include smart-contract wallets that sign with 65-byte ERC-1271
    /// signatures (a 1-of-1 Safe): such payments are then forwarded for the upstream to check on chain.
    /// </summary>
    public bool AssumeEoaPayers { get; set; } = true;

    /// <summary>How far this machine's clock may be ahead of an upstream's: <c>validBefore</c> is rejected only
    /// when it is earlier than now + 6 s − this.</summary>
    public int ClockSkewSeconds { get; set; } = 1;

    /// <summary>A <c>validAfter</c> later than now + this is rejected; nearer ones are left to the upstream, whose
    /// clock may have passed it by the time it looks.</summary>
    public int ValidAfterSlackSeconds { get; set; } = 60;

    /// <summary>Slots of the EIP-712 domain-separator cache (one per token contract in use).</summary>
    public int DomainCacheSize { get; set; } = 256;
}
