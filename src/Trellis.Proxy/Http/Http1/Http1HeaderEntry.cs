namespace Trellis.Proxy.Http.Http1;

/// <summary>Where one header line sits in a contiguous head: offsets, not copies.</summary>
internal struct Http1HeaderEntry
{
    /// <summary>Offset of the line's first byte (the name).</summary>
    public int LineStart;

    /// <summary>Offset just past the line's CRLF.</summary>
    public int LineEnd;

    public int NameLength;

    public int ValueStart;

    public int ValueLength;

    public Http1HeaderKind Kind;
}
