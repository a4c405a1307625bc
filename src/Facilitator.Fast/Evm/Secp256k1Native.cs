using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Facilitator.Fast.Evm;

/// <summary>
/// The few libsecp256k1 functions public-key recovery needs. The Native-AOT build links the library statically
/// (<c>DirectPInvoke</c> of <see cref="Library"/> plus <c>libsecp256k1.a</c>), so the binary does not depend on it;
/// the JIT build resolves <see cref="Library"/> to the system's <c>libsecp256k1.so.1</c>.
/// </summary>
internal static unsafe partial class Secp256k1Native
{
    public const string Library = "libsecp256k1";

    /// <summary>SECP256K1_CONTEXT_VERIFY: recovery needs no signing tables, and versions before 0.2 require this flag.</summary>
    public const uint ContextVerify = 0x0101;

    /// <summary>SECP256K1_EC_UNCOMPRESSED.</summary>
    public const uint Uncompressed = 2;

    /// <summary>Size of the opaque <c>secp256k1_ecdsa_recoverable_signature</c>.</summary>
    public const int RecoverableSignatureSize = 65;

    /// <summary>Size of the opaque <c>secp256k1_pubkey</c>.</summary>
    public const int PublicKeySize = 64;

    static Secp256k1Native()
    {
        if (RuntimeFeature.IsDynamicCodeSupported)
        {
            NativeLibrary.SetDllImportResolver(typeof(Secp256k1Native).Assembly, Resolve);
        }
    }

    [LibraryImport(Library, EntryPoint = "secp256k1_context_create")]
    public static partial nint ContextCreate(uint flags);

    [LibraryImport(Library, EntryPoint = "secp256k1_ecdsa_recoverable_signature_parse_compact")]
    public static partial int RecoverableSignatureParseCompact(nint context, byte* signature, byte* input64, int recoveryId);

    [LibraryImport(Library, EntryPoint = "secp256k1_ecdsa_recover")]
    public static partial int Recover(nint context, byte* publicKey, byte* signature, byte* message32);

    [LibraryImport(Library, EntryPoint = "secp256k1_ec_pubkey_serialize")]
    public static partial int PublicKeySerialize(nint context, byte* output, nuint* outputLength, byte* publicKey, uint flags);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return 0;
        }

        // Only the ABI this binding was written for: an unversioned libsecp256k1.so could be another one.
        return NativeLibrary.TryLoad("libsecp256k1.so.1", assembly, searchPath, out var handle) ? handle : 0;
    }
}
