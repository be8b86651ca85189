CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE runs (
	id INTEGER NOT NULL, 
	app VARCHAR NOT NULL, 
	revision VARCHAR NOT NULL, 
	subject TEXT NOT NULL, 
	"trigger" VARCHAR NOT NULL, 
	started DOUBLE NOT NULL, 
	finished DOUBLE, 
	outcome VARCHAR NOT NULL, 
	health VARCHAR, 
	error TEXT, 
	dry_run BOOLEAN NOT NULL, 
	counts JSON NOT NULL, 
	"plan" JSON NOT NULL, 
	CONSTRAINT pk_runs PRIMARY KEY (id)
);
CREATE INDEX ix_runs_app_id ON runs (app, id);
CREATE INDEX ix_runs_app_outcome ON runs (app, outcome);
CREATE TABLE results (
	run_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	target VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	action VARCHAR NOT NULL, 
	ok BOOLEAN NOT NULL, 
	skipped BOOLEAN NOT NULL, 
	error TEXT, 
	fields JSON NOT NULL, 
	duration DOUBLE NOT NULL, 
	CONSTRAINT pk_results PRIMARY KEY (run_id, seq), 
	CONSTRAINT fk_results_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE
);
CREATE TABLE inventory (
	app VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	target VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	resource JSON NOT NULL, 
	live JSON, 
	revision VARCHAR, 
	updated_at DOUBLE NOT NULL, 
	CONSTRAINT pk_inventory PRIMARY KEY (app, kind, target, name)
);
CREATE TABLE backups (
	target VARCHAR NOT NULL, 
	claim VARCHAR NOT NULL, 
	"key" JSON NOT NULL, 
	data BLOB NOT NULL, 
	taken_at DOUBLE NOT NULL, 
	CONSTRAINT pk_backups PRIMARY KEY (target, claim)
);
CREATE TABLE events (
	id INTEGER NOT NULL, 
	at DOUBLE NOT NULL, 
	app VARCHAR, 
	revision VARCHAR, 
	kind VARCHAR NOT NULL, 
	message TEXT NOT NULL, 
	data JSON, 
	CONSTRAINT pk_events PRIMARY KEY (id)
);
CREATE INDEX ix_events_app_id ON events (app, id);
CREATE TABLE users (
	name VARCHAR NOT NULL, 
	password_hash VARCHAR NOT NULL, 
	role VARCHAR NOT NULL, 
	apps VARCHAR NOT NULL, 
	created_at DOUBLE NOT NULL, 
	disabled BOOLEAN NOT NULL, 
	CONSTRAINT pk_users PRIMARY KEY (name)
);
CREATE TABLE api_tokens (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	user VARCHAR, 
	role VARCHAR NOT NULL, 
	apps VARCHAR NOT NULL, 
	token_hash VARCHAR NOT NULL, 
	created_at DOUBLE NOT NULL, 
	expires_at DOUBLE, 
	revoked_at DOUBLE, 
	last_used_at DOUBLE, 
	CONSTRAINT pk_api_tokens PRIMARY KEY (id), 
	CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash)
);
CREATE TABLE "app_state" (
	app VARCHAR NOT NULL, 
	pinned VARCHAR, 
	pin_reason TEXT, 
	revision VARCHAR, 
	tree_id VARCHAR, 
	synced_at DOUBLE, 
	outcome VARCHAR, 
	health VARCHAR, 
	suspended BOOLEAN DEFAULT 0 NOT NULL, 
	CONSTRAINT pk_app_state PRIMARY KEY (app)
);
INSERT INTO alembic_version (version_num) VALUES ('0002');
