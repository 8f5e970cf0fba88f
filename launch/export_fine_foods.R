# Writes the fine-foods task's JSONL files from Debian's r-cran-modeldata (small_fine_foods):
# train.jsonl from training_data (4,000 reviews), test.jsonl from testing_data (1,000), one
# {"id", "product", "review", "label"} object a line. launch/setup.sh calls it; the output
# lives in the cache and is never committed (the reviews are Amazon's, shared by SNAP for
# research use).
#   Rscript launch/export_fine_foods.R OUT_DIR
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript launch/export_fine_foods.R OUT_DIR", call. = FALSE)
out_dir <- args[[1]]
suppressPackageStartupMessages(library(jsonlite))
data("small_fine_foods", package = "modeldata", envir = environment())

# "<br />" is the reviews' only line break (1,148 of the 5,000 use it); it becomes "\n", so a
# "<br /><br />" paragraph break reads as the blank line of the email bodies the default
# model was pretrained on. Every other byte (a few entities such as &quot;, links) is kept.
as_records <- function(df, split) {
  labels <- as.character(df$score)
  bad <- setdiff(unique(labels), c("great", "other"))
  if (length(bad)) stop(sprintf("%s: score '%s', expected great or other", split, bad[[1]]), call. = FALSE)
  review <- gsub("<br />", "\n", df$review, fixed = TRUE)
  Encoding(review) <- "UTF-8"
  data.frame(id = sprintf("%s-%d", split, seq_len(nrow(df))), product = df$product,
             review = review, label = labels, stringsAsFactors = FALSE)
}

# Written to a temporary name and renamed, so an interrupted export never leaves a half file.
write_jsonl <- function(records, path, rows) {
  if (nrow(records) != rows)
    stop(sprintf("%s: small_fine_foods has %d rows, expected %d", path, nrow(records), rows), call. = FALSE)
  tmp <- paste0(path, ".partial")
  con <- file(tmp, open = "wb")
  stream_out(records, con, verbose = FALSE)
  close(con)
  if (!file.rename(tmp, path)) stop(sprintf("%s: cannot rename %s into place", path, tmp), call. = FALSE)
}

dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
write_jsonl(as_records(training_data, "train"), file.path(out_dir, "train.jsonl"), 4000)
write_jsonl(as_records(testing_data, "test"), file.path(out_dir, "test.jsonl"), 1000)
