// Trimming a WAV file with audio_processor.
//
// Shows: probing a file's format and duration, cutting the middle half
// second out of a one-second tone, and probing the result to see that it is
// half a second long at the same sample rate.
//
// Run, from the repository root (outputs go to the directory given after --):
//   mkdir -p /tmp/llmspell-media
//   llmspell run --fs-root examples/fixtures/media --fs-root /tmp/llmspell-media \
//     examples/js/media/trim_audio.js -- /tmp/llmspell-media
//
// (.ci/examples runs this file with these lines, {out} a fresh directory:)
// flags: --fs-root examples/fixtures/media --fs-root {out}
// args: {out}

const assert = (cond, msg) => { if (!cond) throw new Error(`assertion failed: ${msg}`); };

const out = llmspell.args[0];
assert(out, "pass an output directory after --");

const tone = await Tool.invoke("audio_processor", { operation: "probe", path: "tone.wav" });
assert(tone.duration_seconds === 1 && tone.sample_rate === 8000, JSON.stringify(tone));

const cut = await Tool.invoke("audio_processor", {
  operation: "trim", path: "tone.wav", start_seconds: 0.25, end_seconds: 0.75,
  output_path: `${out}/tone-cut.wav`, overwrite: true,
});
assert(cut.duration_seconds === 0.5, `trimmed to ${cut.duration_seconds} s`);

// Read back from disk: the file written is half a second of 8 kHz audio.
const written = await Tool.invoke("audio_processor", { operation: "probe", path: `${out}/tone-cut.wav` });
assert(written.duration_seconds === 0.5 && written.sample_rate === 8000 && written.frames === 4000,
  JSON.stringify(written));
console.log(`${tone.duration_seconds} s -> ${written.duration_seconds} s (${written.frames} frames, ${cut.bytes} bytes)`);
console.log("ok");
