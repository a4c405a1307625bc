using System.Globalization;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// A <see cref="PaymentRecord"/> as the fields of its Redis hash (short names: one hash per payment, many payments), and
/// back. A field whose value is absent is not written, and is deleted by a transition that clears it.
/// </summary>
public static class PaymentRecordFields
{
    public const string Status = "st";
    public const string Fingerprint = "fp";
    public const string Request = "rq";

    /// <summary>Every field a record may have, in the order <see cref="ToPairs"/> writes them.</summary>
    public static readonly string[] Names =
        ["st", "fp", "py", "pe", "am", "aa", "as", "sy", "dc", "nw", "fe", "vb", "sb", "tx", "va", "sa", "er", "vbf", "rq"];

    /// <summary>Field, value, field, value...: the present fields of <paramref name="record"/>.</summary>
    public static List<RedisValue> ToPairs(PaymentRecord record)
    {
        var pairs = new List<RedisValue>(Names.Length * 2);
        Add(pairs, "st", PaymentStatuses.Name(record.Status));
        Add(pairs, "fp", record.Fingerprint.ToString());
        Add(pairs, "py", record.Payer);
        Add(pairs, "pe", record.Payee);
        Add(pairs, "am", record.Amount);
        Add(pairs, "aa", record.AmountAtomic);
        Add(pairs, "as", record.Asset);
        Add(pairs, "sy", record.Symbol);
        Add(pairs, "dc", record.Decimals.ToString(CultureInfo.InvariantCulture));
        Add(pairs, "nw", record.Network);
        Add(pairs, "fe", record.Fee);
        Add(pairs, "vb", record.VerifiedBy);
        Add(pairs, "sb", record.SettledBy);
        Add(pairs, "tx", record.Transaction);
        Add(pairs, "va", record.VerifiedAtMs.ToString(CultureInfo.InvariantCulture));
        Add(pairs, "sa", record.SettledAtMs?.ToString(CultureInfo.InvariantCulture));
        Add(pairs, "er", record.Error);
        Add(pairs, "vbf", record.ValidBefore.ToString(CultureInfo.InvariantCulture));
        if (record.Request is { } request)
        {
            pairs.Add("rq");
            pairs.Add(request);
        }

        return pairs;
    }

    /// <summary>The fields <paramref name="record"/> does not have, space-separated: a transition deletes them.</summary>
    public static string Absent(PaymentRecord record)
    {
        var absent = new List<string>(4);
        if (record.Symbol is null) absent.Add("sy");
        if (record.VerifiedBy is null) absent.Add("vb");
        if (record.SettledBy is null) absent.Add("sb");
        if (record.Transaction is null) absent.Add("tx");
        if (record.SettledAtMs is null) absent.Add("sa");
        if (record.Error is null) absent.Add("er");
        if (record.Request is null) absent.Add("rq");
        return string.Join(' ', absent);
    }

    /// <summary>Reads a record from the flat field/value array of <c>HGETALL</c>; null if it is not a whole record.</summary>
    public static PaymentRecord? FromFlat(Guid id, RedisResult[] flat)
    {
        string? st = null, fp = null, py = null, pe = null, am = null, aa = null, asset = null, sy = null, dc = null, nw = null, fe = null,
            vb = null, sb = null, tx = null, va = null, sa = null, er = null, vbf = null;
        byte[]? rq = null;
        for (var i = 0; i + 1 < flat.Length; i += 2)
        {
            var name = (string?)flat[i];
            if (name == "rq")
            {
                rq = (byte[]?)flat[i + 1];
                continue;
            }

            var value = (string?)flat[i + 1];
            switch (name)
            {
                case "st": st = value; break;
                case "fp": fp = value; break;
                case "py": py = value; break;
                case "pe": pe = value; break;
                case "am": am = value; break;
                case "aa": aa = value; break;
                case "as": asset = value; break;
                case "sy": sy = value; break;
                case "dc": dc = value; break;
                case "nw": nw = value; break;
                case "fe": fe = value; break;
                case "vb": vb = value; break;
                case "sb": sb = value; break;
                case "tx": tx = value; break;
                case "va": va = value; break;
                case "sa": sa = value; break;
                case "er": er = value; break;
                case "vbf": vbf = value; break;
            }
        }

        if (!PaymentStatuses.TryParse(st, out var status) || !Sha256Hash.TryParse(fp, out var fingerprint)
            || py is null || pe is null || am is null || aa is null || asset is null || nw is null || fe is null
            || !int.TryParse(dc, NumberStyles.None, CultureInfo.InvariantCulture, out var decimals)
            || !long.TryParse(va, NumberStyles.None, CultureInfo.InvariantCulture, out var verifiedAt)
            || !long.TryParse(vbf, NumberStyles.None, CultureInfo.InvariantCulture, out var validBefore))
        {
            return null;
        }

        long? settledAt = long.TryParse(sa, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
        return new PaymentRecord(
            id, status, fingerprint, py, pe, am, aa, asset, sy, decimals, nw, fe, vb, sb, tx, verifiedAt, settledAt, er, validBefore, rq);
    }

    private static void Add(List<RedisValue> pairs, string name, string? value)
    {
        if (value is not null)
        {
            pairs.Add(name);
            pairs.Add(value);
        }
    }
}
