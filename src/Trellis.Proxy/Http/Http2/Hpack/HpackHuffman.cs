namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>
/// Decodes the Huffman code of RFC 7541 Appendix B with a 4-bits-at-a-time state machine: a state
/// is an inner node of the code tree, and one table lookup per nibble gives the next node and the
/// symbol completed on the way, if any. Codes are at least 5 bits long, so a nibble completes at
/// most one symbol.
/// </summary>
internal static class HpackHuffman
{
    private const int Eos = 256;
    private const int StateCount = 256;
    private const uint EmitsSymbol = 1u << 16;
    private const uint Fails = 1u << 17;

    // Transition entries: bits 0-7 the next state, bits 8-15 the completed symbol, then the flags.
    private static readonly uint[] Transitions = new uint[StateCount * 16];

    // A state may end a string when it is reached from the root by at most 7 one-bits: that is
    // padding made of the most significant bits of EOS (RFC 7541 section 5.2).
    private static readonly bool[] CanEnd = new bool[StateCount];

    static HpackHuffman()
    {
        var children = BuildTree();
        for (var state = 0; state < StateCount; state++)
        {
            for (var nibble = 0; nibble < 16; nibble++)
            {
                Transitions[(state << 4) | nibble] = Walk(children, state, nibble);
            }
        }

        var node = 0;
        for (var depth = 0; depth <= 7; depth++)
        {
            CanEnd[node] = true;
            node = children[(node * 2) + 1];
        }
    }

    /// <summary>The most bytes <paramref name="encodedLength"/> Huffman-coded bytes can decode to.</summary>
    public static int MaxDecodedLength(int encodedLength) => (int)((encodedLength * 8L) / 5);

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/>, which must hold
    /// <see cref="MaxDecodedLength"/> bytes, and returns the decoded length.
    /// </summary>
    /// <exception cref="HpackException">The string contains EOS or its padding is invalid.</exception>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var transitions = Transitions;
        var state = 0;
        var written = 0;
        foreach (var b in source)
        {
            var entry = transitions[(state << 4) | (b >> 4)];
            if ((entry & (EmitsSymbol | Fails)) != 0)
            {
                written = Emit(entry, destination, written);
            }

            entry = transitions[((int)(entry & 0xFF) << 4) | (b & 0xF)];
            if ((entry & (EmitsSymbol | Fails)) != 0)
            {
                written = Emit(entry, destination, written);
            }

            state = (int)(entry & 0xFF);
        }

        if (!CanEnd[state])
        {
            throw new HpackException("A Huffman-coded string has invalid padding.");
        }

        return written;
    }

    private static int Emit(uint entry, Span<byte> destination, int written)
    {
        if ((entry & Fails) != 0)
        {
            throw new HpackException("A Huffman-coded string contains EOS.");
        }

        destination[written] = (byte)(entry >> 8);
        return written + 1;
    }

    private static uint Walk(int[] children, int state, int nibble)
    {
        var node = state;
        var entry = 0u;
        for (var bit = 3; bit >= 0; bit--)
        {
            var child = children[(node * 2) + ((nibble >> bit) & 1)];
            if (child >= 0)
            {
                node = child;
                continue;
            }

            var symbol = ~child;
            if (symbol == Eos)
            {
                return Fails;
            }

            entry = EmitsSymbol | ((uint)symbol << 8);
            node = 0;
        }

        return entry | (uint)node;
    }

    // The code is canonical: sorted by length and then by symbol, each code is the previous one
    // plus one, shifted left by the growth in length. So the lengths alone define it. Children of
    // inner node n are at [2n] (bit 0) and [2n + 1] (bit 1); a leaf is stored as ~symbol.
    private static int[] BuildTree()
    {
        var lengths = CodeLengths;
        var children = new int[StateCount * 2];
        var nextNode = 1;
        var code = 0u;
        var previousLength = 0;
        var first = true;
        for (var length = 1; length <= 30; length++)
        {
            for (var symbol = 0; symbol <= Eos; symbol++)
            {
                if (lengths[symbol] != length)
                {
                    continue;
                }

                code = first ? 0u : (code + 1) << (length - previousLength);
                first = false;
                previousLength = length;
                nextNode = Insert(children, code, length, symbol, nextNode);
            }
        }

        return children;
    }

    private static int Insert(int[] children, uint code, int length, int symbol, int nextNode)
    {
        var node = 0;
        for (var bit = length - 1; bit > 0; bit--)
        {
            var slot = (node * 2) + (int)((code >> bit) & 1);
            if (children[slot] == 0)
            {
                children[slot] = nextNode++;
            }

            node = children[slot];
        }

        children[(node * 2) + (int)(code & 1)] = ~symbol;
        return nextNode;
    }

    // The "len" column of RFC 7541 Appendix B, by symbol.
    private static ReadOnlySpan<byte> CodeLengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0..15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16..31
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32..47
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48..63
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64..79
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80..95
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96..111
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112..127
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..255
        30, // 256: EOS
    ];
}
