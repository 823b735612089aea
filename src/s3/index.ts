export { S3Storage, s3ErrorToHttp, type S3SaveOptions, type S3StorageOptions } from './s3.storage.js';
