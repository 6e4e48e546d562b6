//! What `gem push` delivers: a `.gem` (a plain tar of metadata.gz, data.tar.gz, checksums.yaml.gz) and the
//! YAML gemspec inside it. Reading must answer within its bounds and never panic, and whatever it accepts must
//! render into the indexes (an info line, a Marshal gemspec).
#![no_main]

use libfuzzer_sys::fuzz_target;
use packyard::ecosystems::ruby::{gem, info_line, marshal};

fuzz_target!(|data: &[u8]| {
    for spec in [gem::read_gem(data), gem::parse_gemspec(data)].into_iter().flatten() {
        let _ = info_line(&spec, "00");
        let _ = marshal::gemspec(&spec);
    }
});
