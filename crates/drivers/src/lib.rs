//! placeholder (the drivers helper replaces this)
