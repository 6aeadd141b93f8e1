"""The streaming side: probing, the HLS ladder, thumbnails, subtitles, players."""
