package web

import "github.com/backstop-appliance/backstop/internal/appliance"

// The names the job tests use for the core's job states and statuses.
type (
	housekeepingStatus = appliance.HousekeepingStatus
	verifyStatus       = appliance.VerifyStatus
)

const (
	jobIdle      = appliance.JobIdle
	jobRunning   = appliance.JobRunning
	jobPaused    = appliance.JobPaused
	jobBlackout  = appliance.JobBlackout
	jobDone      = appliance.JobDone
	jobFailed    = appliance.JobFailed
	jobCancelled = appliance.JobCancelled

	verifyIdle      = jobIdle
	verifyRunning   = jobRunning
	verifyPaused    = jobPaused
	verifyDone      = jobDone
	verifyFailed    = jobFailed
	verifyCancelled = jobCancelled
)

func active(state string) bool { return appliance.JobActive(state) }
