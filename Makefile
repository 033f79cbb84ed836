# A thin front door; every target is an npm script.
.PHONY: setup start worker test lint bench

setup:
	npm install

start:
	npm start

worker:
	npm run worker

test:
	npm test

lint:
	npm run lint

bench:
	npm run bench
