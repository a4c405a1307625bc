namespace Facilitator.Fast.Protocol;

/// <summary>The calls a facilitator answers; statistics, headers and routing rules are kept per operation.</summary>
public enum FacilitatorOperation : byte
{
    Verify = 0,
    Settle = 1,
    Supported = 2,

    /// <summary><c>GET /discovery/resources</c>; the seed's statistics call it "list".</summary>
    Discovery = 3,
}

/// <summary>Names of <see cref="FacilitatorOperation"/> as they appear in configuration, logs and the status API.</summary>
public static class FacilitatorOperations
{
    public const int Count = 4;

    public static string Name(FacilitatorOperation operation) => operation switch
    {
        FacilitatorOperation.Verify => "verify",
        FacilitatorOperation.Settle => "settle",
        FacilitatorOperation.Supported => "supported",
        _ => "list",
    };

    /// <summary>The path of the operation below an upstream's base URL.</summary>
    public static string Path(FacilitatorOperation operation) => operation switch
    {
        FacilitatorOperation.Verify => "verify",
        FacilitatorOperation.Settle => "settle",
        FacilitatorOperation.Supported => "supported",
        _ => "discovery/resources",
    };

    /// <summary>Parses a configuration name (<c>verify</c>, <c>settle</c>, <c>supported</c>, <c>list</c> or <c>discovery</c>).</summary>
    public static bool TryParse(string name, out FacilitatorOperation operation)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "verify": operation = FacilitatorOperation.Verify; return true;
            case "settle": operation = FacilitatorOperation.Settle; return true;
            case "supported": operation = FacilitatorOperation.Supported; return true;
            case "list":
            case "discovery": operation = FacilitatorOperation.Discovery; return true;
            default: operation = default; return false;
        }
    }
}
