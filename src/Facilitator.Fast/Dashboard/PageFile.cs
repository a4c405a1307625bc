namespace Facilitator.Fast.Dashboard;

/// <summary>One file of an embedded page, read once from the binary: its bytes, media type and a strong ETag.</summary>
internal sealed record PageFile(string Name, byte[] Content, string ContentType, string ETag);
