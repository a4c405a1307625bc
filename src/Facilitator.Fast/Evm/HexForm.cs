namespace Facilitator.Fast.Evm;

/// <summary>
/// How a hex field of a payment is written, measured against the readers that will see it: the official verifier
/// (viem) is the strictest, and where it refuses text that others decode the references disagree.
/// </summary>
/// <remarks>Ordered from best to worst, so the form of several fields is the greatest of theirs.</remarks>
internal enum HexForm : byte
{
    /// <summary>
    /// With the lower-case <c>0x</c> viem reads. (The case of <c>from</c>/<c>to</c>, which viem also checks, is looked at
    /// apart: only once the signature has not failed, so refusing a bad one costs no checksum.)
    /// </summary>
    Canonical = 0,

    /// <summary>
    /// Decodable to the field's size, but in a form viem refuses and others read (<c>0X</c>, no prefix, upper case, a
    /// wrong checksum): the references disagree, so it is forwarded unjudged.
    /// </summary>
    NonCanonical,

    /// <summary>Not read here (an escaped string, or an address that is not 20 bytes of hex): forwarded unjudged.</summary>
    Unread,

    /// <summary>No reference can decode it: a payment carrying it is refused.</summary>
    Malformed,
}
