namespace Facilitator.Fast.Evm;

/// <summary>Loads and validates <see cref="LocalVerificationOptions"/>, and makes sure libsecp256k1 is there when it will be used.</summary>
public static class LocalVerificationSettings
{
    public static LocalVerificationOptions Load(IConfiguration configuration)
    {
        var options = new LocalVerificationOptions();
        try
        {
            configuration.GetSection(LocalVerificationOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidSettingException(LocalVerificationOptions.SectionName, ex.Message.ReplaceLineEndings(" "));
        }

        if (!Enum.IsDefined(options.Mode))
        {
            throw new InvalidSettingException("LocalVerification:Mode", "must be enforce, shadow or off.");
        }

        InvalidSettingException.ThrowIfOutOfRange("LocalVerification:ClockSkewSeconds", options.ClockSkewSeconds, 0, 300);
        InvalidSettingException.ThrowIfOutOfRange("LocalVerification:ValidAfterSlackSeconds", options.ValidAfterSlackSeconds, 0, 86_400);
        InvalidSettingException.ThrowIfOutOfRange("LocalVerification:DomainCacheSize", options.DomainCacheSize, 1, 65_536);

        if (options.Mode != LocalVerificationMode.Off && !IsSecp256k1Loadable())
        {
            throw new InvalidSettingException(
                "LocalVerification:Mode",
                "libsecp256k1 (libsecp256k1.so.1, Debian package libsecp256k1-1) could not be loaded; install it or set the mode to off.");
        }

        return options;
    }

    private static bool IsSecp256k1Loadable()
    {
        try
        {
            return Secp256k1.IsAvailable;
        }
        catch (TypeInitializationException)
        {
            return false;
        }
    }
}
