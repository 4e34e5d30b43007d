//! The process exit codes, in one place.

use std::process::ExitCode;

/// How a `scanhist` run ended. Every command uses the same three codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: every input was valid, or was repaired and converted.
    Success,
    /// 1: some input, document or record could not be read; everything else
    /// was still processed and written.
    Failure,
    /// 2: a usage error, or a file that could not be opened or written.
    Usage,
}

impl ExitStatus {
    /// The numeric code the process exits with.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
        }
    }

    /// The worse of two outcomes.
    pub fn max(self, other: ExitStatus) -> ExitStatus {
        if other.code() > self.code() {
            other
        } else {
            self
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Failure.code(), 1);
        assert_eq!(ExitStatus::Usage.code(), 2);
    }

    #[test]
    fn max_keeps_the_worse_outcome() {
        assert_eq!(ExitStatus::Success.max(ExitStatus::Failure), ExitStatus::Failure);
        assert_eq!(ExitStatus::Usage.max(ExitStatus::Failure), ExitStatus::Usage);
    }
}
