namespace MessTools.Core.Embedding.Builtin;

/// <summary>What <see cref="BuiltinEmbeddingModel"/> needs of a built-in embedder (builtin-1 and builtin-2).</summary>
internal interface IWholeTrackEmbedder
{
    string Version { get; }
    int SampleRate { get; }
    int Dimension { get; }
    float[] Embed(ReadOnlySpan<float> mono);
    IWholeTrackStream OpenStream(long totalSamples);
}

/// <summary>A whole-track embedding fed in chunks.</summary>
internal interface IWholeTrackStream
{
    void Push(ReadOnlySpan<float> chunk);
    float[] Finish();
}
