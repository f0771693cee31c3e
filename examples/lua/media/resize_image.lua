-- Resizing and converting an image with image_processor.
--
-- Shows: reading an image's size, a resize that keeps the aspect ratio, a
-- grayscale copy written as WebP, and the file-system sandbox: the tool
-- reads and writes only under the --fs-root directories.
--
-- Run, from the repository root (outputs go to the directory given after --):
--   mkdir -p /tmp/llmspell-media
--   llmspell run --fs-root examples/fixtures/media --fs-root /tmp/llmspell-media \
--     examples/lua/media/resize_image.lua -- /tmp/llmspell-media
--
-- (.ci/examples runs this file with these lines, {out} a fresh directory:)
-- flags: --fs-root examples/fixtures/media --fs-root {out}
-- args: {out}

local out = llmspell.args[1]
assert(out, "pass an output directory after --")

local info = Tool.invoke("image_processor", { operation = "info", path = "photo.png" })
assert(info.width == 48 and info.height == 32, ("photo.png is %dx%d"):format(info.width, info.height))

local small = Tool.invoke("image_processor", {
  operation = "resize", path = "photo.png", width = 24,
  output_path = out .. "/photo-small.png", overwrite = true,
})
assert(small.width == 24 and small.height == 16, ("resized to %dx%d"):format(small.width, small.height))

-- Read back from disk: the file really has the new size.
local written = Tool.invoke("image_processor", { operation = "info", path = out .. "/photo-small.png" })
assert(written.width == 24 and written.height == 16 and written.format == "png")

local gray = Tool.invoke("image_processor", {
  operation = "grayscale", path = out .. "/photo-small.png",
  output_path = out .. "/photo-gray.webp", overwrite = true,
})
local check = Tool.invoke("image_processor", { operation = "info", path = out .. "/photo-gray.webp" })
assert(check.format == "webp" and check.width == 24, "the grayscale copy is a 24-pixel-wide WebP")
print(("%dx%d -> %dx%d (%d bytes), grayscale webp %d bytes"):format(
  info.width, info.height, small.width, small.height, small.bytes, gray.bytes))

-- Outside the roots nothing is read.
local ok, err = pcall(Tool.invoke, "image_processor", { operation = "info", path = "/etc/hostname" })
assert(not ok and err.kind == "security_violation", tostring(err))
print("ok")
