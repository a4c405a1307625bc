namespace Facilitator.Fast.Evm;

/// <summary>
/// Remembers EIP-712 domain separators, which depend only on the token (name, version, chain, contract) and so
/// repeat across almost every payment; a hit saves three Keccak permutations.
/// </summary>
/// <remarks>
/// A direct-mapped table of immutable entries: a key's hash picks one slot, a reader compares that slot's key bytes
/// with its own and uses the separator on a match. A miss computes the separator and publishes a new entry into the
/// slot with one volatile write, evicting whatever was there. Memory is bounded by the slot count, reads take no lock
/// and allocate nothing; only a miss allocates its entry.
/// </remarks>
public sealed class DomainSeparatorCache
{
    private const int MaxKeyLength = 512;
    private readonly Entry?[] _slots;

    public DomainSeparatorCache(int slots = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _slots = new Entry?[slots];
    }

    /// <summary>Writes the separator of the domain to <paramref name="destination"/>, from the cache when it is there.</summary>
    public void GetSeparator(ReadOnlySpan<byte> name, ReadOnlySpan<byte> version, ulong chainId, in EvmAddress verifyingContract, Span<byte> destination)
    {
        var keyLength = 8 + EvmAddress.Size + 2 + name.Length + version.Length;
        if (keyLength > MaxKeyLength)
        {
            Eip712.ComputeDomainSeparator(name, version, chainId, verifyingContract, destination);
            return;
        }

        Span<byte> key = stackalloc byte[keyLength];
        WriteKey(key, name, version, chainId, verifyingContract);
        var hash = new HashCode();
        hash.AddBytes(key);
        var index = (int)((uint)hash.ToHashCode() % (uint)_slots.Length);

        var entry = Volatile.Read(ref _slots[index]);
        if (entry is not null && key.SequenceEqual(entry.Key))
        {
            entry.Separator.CopyTo(destination);
            return;
        }

        var separator = new byte[32];
        Eip712.ComputeDomainSeparator(name, version, chainId, verifyingContract, separator);
        Volatile.Write(ref _slots[index], new Entry(key.ToArray(), separator));
        separator.CopyTo(destination);
    }

    private static void WriteKey(Span<byte> key, ReadOnlySpan<byte> name, ReadOnlySpan<byte> version, ulong chainId, in EvmAddress contract)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(key, chainId);
        ((ReadOnlySpan<byte>)contract).CopyTo(key[8..]);
        key[28] = (byte)name.Length;
        key[29] = (byte)(name.Length >> 8);
        name.CopyTo(key[30..]);
        version.CopyTo(key[(30 + name.Length)..]);
    }

    private sealed record Entry(byte[] Key, byte[] Separator);
}
