namespace Facilitator.Fast.Protocol;

/// <summary>The fields of a verify/settle request the gateway reads; each is a slice of the body.</summary>
public enum PaymentField : byte
{
    RequirementsScheme = 0,
    RequirementsNetwork,

    /// <summary>v1 <c>paymentRequirements.maxAmountRequired</c>.</summary>
    RequirementsMaxAmountRequired,

    /// <summary>v2 <c>paymentRequirements.amount</c>.</summary>
    RequirementsAmount,
    RequirementsPayTo,
    RequirementsAsset,
    RequirementsExtraName,
    RequirementsExtraVersion,

    /// <summary>v1 <c>paymentPayload.scheme</c>.</summary>
    PayloadScheme,

    /// <summary>v1 <c>paymentPayload.network</c>.</summary>
    PayloadNetwork,

    /// <summary>v2 <c>paymentPayload.accepted.scheme</c>.</summary>
    AcceptedScheme,

    /// <summary>v2 <c>paymentPayload.accepted.network</c>.</summary>
    AcceptedNetwork,

    /// <summary><c>paymentPayload.payload.signature</c>.</summary>
    Signature,

    /// <summary><c>paymentPayload.payload.authorization.from</c> and its siblings.</summary>
    From,
    To,
    Value,
    ValidAfter,
    ValidBefore,
    Nonce,

    /// <summary>
    /// <c>paymentRequirements.extra.feePayer</c> (SVM <c>exact</c>), <c>facilitatorAddress</c> (<c>upto</c>) and
    /// <c>receiverAuthorizer</c> (<c>batch-settlement</c>): the facilitator the payment was signed for.
    /// </summary>
    RequirementsExtraFeePayer,
    RequirementsExtraFacilitatorAddress,
    RequirementsExtraReceiverAuthorizer,

    /// <summary><c>paymentPayload.payload.permit2Authorization</c>: present on Permit2 payments (v2), which are not EIP-3009.</summary>
    Permit2Authorization,
}
