using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;

namespace Facilitator.Fast.Dashboard;

/// <summary>
/// The files of the pages served by the binary itself (<c>/dashboard</c>, <c>/docs</c>): the page code from
/// <c>Dashboard/files</c> and the pinned libraries (uPlot, Swagger UI) the build copies from the lockfile's packages,
/// all embedded as resources named <c>page/&lt;page&gt;/&lt;file&gt;</c>. Nothing is fetched from elsewhere at run time.
/// </summary>
internal sealed class EmbeddedPages
{
    private const string Prefix = "page/";

    private readonly FrozenDictionary<string, Lazy<PageFile>> _files;

    public EmbeddedPages()
        : this(typeof(EmbeddedPages).Assembly)
    {
    }

    /// <remarks>A file is read from the binary the first time it is asked for: pages nobody opens cost no memory.</remarks>
    internal EmbeddedPages(Assembly assembly)
    {
        var files = new Dictionary<string, Lazy<PageFile>>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (resource.StartsWith(Prefix, StringComparison.Ordinal))
            {
                files[resource[Prefix.Length..]] = new Lazy<PageFile>(() => Read(assembly, resource), LazyThreadSafetyMode.ExecutionAndPublication);
            }
        }

        _files = files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IEnumerable<string> Names => _files.Keys;

    /// <summary>The file <paramref name="page"/>/<paramref name="file"/>, or null when the binary has none by that name.</summary>
    public PageFile? Find(string page, string file) => _files.GetValueOrDefault(page + "/" + file)?.Value;

    private static PageFile Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        var content = new byte[stream.Length];
        stream.ReadExactly(content);
        var name = resource[Prefix.Length..];
        return new PageFile(name, content, ContentTypeOf(name), "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 12)) + "\"");
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".png" => "image/png",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
